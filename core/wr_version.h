/* warren's version: MAJOR.MINOR.PATCH of the program (the plugin ABI has its
 * own version, in include/warren/). */
#ifndef WR_VERSION_H
#define WR_VERSION_H

#define WR_VERSION "0.1.0"

#endif
