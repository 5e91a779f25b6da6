# SPDX-License-Identifier: Apache-2.0
"""Test doubles of the Kubernetes components (kube-apiserver, kube-controller-manager,
kube-scheduler, kubelet, kube-proxy) for the slipway integration tests."""
