# SPDX-License-Identifier: Apache-2.0
# The endpoint's load client, used by the integration tests endpoint_race
# and endpoint_crash and by the endpoint benchmarks.
add_executable(endpoint_load ${CMAKE_CURRENT_LIST_DIR}/endpoint_load.c)
target_link_libraries(endpoint_load PRIVATE CURL::libcurl)
