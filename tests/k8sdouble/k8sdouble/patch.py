# SPDX-License-Identifier: Apache-2.0
"""PATCH bodies: JSON merge patch (RFC 7386), a strategic-merge-patch subset
(lists merged by key for the fields this double's kinds use) and JSON patch
(RFC 6902).  Server-side apply is treated as a merge patch."""
import copy

MERGE_KEYS = {"conditions": "type", "addresses": "type", "taints": "key",
              "volumesAttached": "name"}


class PatchError(Exception):
    def __init__(self, msg, unsupported=False):
        super().__init__(msg)
        self.unsupported = unsupported


def merge(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    for k, v in patch.items():
        if v is None:
            target.pop(k, None)
        else:
            target[k] = merge(target.get(k), v)
    return target


def strategic(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if not k.startswith("$")}
    for k, v in patch.items():
        if k.startswith("$"):
            continue
        if v is None:
            target.pop(k, None)
        elif isinstance(v, list) and k in MERGE_KEYS and isinstance(target.get(k), list):
            key = MERGE_KEYS[k]
            cur = [copy.deepcopy(x) for x in target[k]]
            for item in v:
                if not isinstance(item, dict) or key not in item:
                    raise PatchError("map: %s does not contain declared merge key: %s" % (item, key))
                idx = next((i for i, x in enumerate(cur) if isinstance(x, dict) and x.get(key) == item[key]), None)
                if item.get("$patch") == "delete":
                    if idx is not None:
                        cur.pop(idx)
                elif idx is None:
                    cur.append({a: b for a, b in item.items() if not a.startswith("$")})
                else:
                    cur[idx] = strategic(cur[idx], item)
            target[k] = cur
        else:
            target[k] = strategic(target.get(k), v)
    return target


def _ptr(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError("JSON pointer must start with '/': %s" % path)
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc, parts):
    cur = doc
    for p in parts:
        if isinstance(cur, list):
            cur = cur[int(p)]
        else:
            cur = cur[p]
    return cur


def json_patch(doc, ops):
    if not isinstance(ops, list):
        raise PatchError("json patch must be a list of operations")
    for op in ops:
        o, path = op.get("op"), _ptr(op.get("path", ""))
        try:
            if o in ("add", "replace", "test"):
                val = copy.deepcopy(op.get("value"))
                if o == "test":
                    if _walk(doc, path) != val:
                        raise PatchError("testing value %s failed" % op.get("path"))
                    continue
                parent = _walk(doc, path[:-1])
                last = path[-1]
                if isinstance(parent, list):
                    if o == "add":
                        parent.insert(len(parent) if last == "-" else int(last), val)
                    else:
                        parent[int(last)] = val
                else:
                    if o == "replace" and last not in parent:
                        raise PatchError("replace operation does not apply: doc is missing key: %s" % op.get("path"))
                    parent[last] = val
            elif o == "remove":
                parent = _walk(doc, path[:-1])
                if isinstance(parent, list):
                    parent.pop(int(path[-1]))
                else:
                    del parent[path[-1]]
            elif o in ("move", "copy"):
                src = _ptr(op.get("from", ""))
                val = copy.deepcopy(_walk(doc, src))
                if o == "move":
                    sp = _walk(doc, src[:-1])
                    if isinstance(sp, list):
                        sp.pop(int(src[-1]))
                    else:
                        del sp[src[-1]]
                json_patch(doc, [{"op": "add", "path": op["path"], "value": val}])
            else:
                raise PatchError("Unexpected kind: %s" % o)
        except (KeyError, IndexError, ValueError, TypeError):
            raise PatchError("the server rejected our request due to an error in our request: %s %s" % (o, op.get("path")))
    return doc


def apply(ctype, doc, patch):
    if ctype == "application/merge-patch+json":
        return merge(doc, patch)
    if ctype == "application/strategic-merge-patch+json":
        return strategic(doc, patch)
    if ctype == "application/json-patch+json":
        return json_patch(doc, patch)
    if ctype == "application/apply-patch+yaml":
        return merge(doc, patch)
    raise PatchError('the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json', unsupported=True)
