/*
 * warren plugin ABI version.
 *
 * THE RULE. The ABI is everything in include/warren/: the plugin descriptor
 * (wr_plugin_t), the API table (wr_api_t), the constants (verdicts, phases,
 * keys, scopes) and the meaning of each function.
 *   - Something is added (a field appended to wr_plugin_t or wr_api_t, a new
 *     phase, key, constant or function): WR_ABI_MINOR goes up by one.
 *   - Something is removed, reordered, renumbered, or changes meaning:
 *     WR_ABI_MAJOR goes up by one and WR_ABI_MINOR goes back to 0.
 * warren loads a plugin when its magic is right, its major equals warren's
 * and its minor is not above warren's: a plugin built against older headers
 * of the same major keeps working; a plugin that needs something newer than
 * the running warren is refused with both versions named.
 * Structs are only ever appended to, and every struct that may grow carries
 * its own size, so that each side reads only what the other has.
 *
 * CHANGELOG (newest first; one line per change, with its date)
 *   1.0  2026-11-30  first ABI: descriptor, API table, phases session_open,
 *                    session_auth, session_close, stream_open,
 *                    stream_close, request_headers, response_headers, log.
 */
#ifndef WARREN_VERSION_H
#define WARREN_VERSION_H

#define WR_ABI_MAJOR 1
#define WR_ABI_MINOR 0

/* True when the headers in use provide ABI major.minor or a later minor of
 * the same major: `#if WR_ABI_AT_LEAST(1, 2)` guards code that needs what
 * 1.2 added. */
#define WR_ABI_AT_LEAST(major, minor)                                                              \
    (WR_ABI_MAJOR == (major) && WR_ABI_MINOR >= (minor))

#endif
