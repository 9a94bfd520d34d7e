/* ts_port_library.c - the timer run_classifier() reads (ts_port.h), for the C/Arduino library.
 *
 * Hosted systems use the monotonic clock and Arduino cores micros(); elsewhere there is no
 * portable timer, so weak defaults return 0 ("no timing"): define ts_port_ticks() and
 * ts_port_ticks_per_second() in your own code to replace them.
 */
#if defined(__unix__) || defined(__APPLE__)
#define _POSIX_C_SOURCE 199309L
#include <time.h>
#endif

#include <stdint.h>

#include "ts_port.h"

#if defined(ARDUINO)
unsigned long micros(void);

uint32_t ts_port_ticks(void) { return (uint32_t)micros(); }
uint32_t ts_port_ticks_per_second(void) { return 1000000u; }

#elif defined(__unix__) || defined(__APPLE__)
uint32_t ts_port_ticks(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint32_t)((uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000u);
}
uint32_t ts_port_ticks_per_second(void) { return 1000000u; }

#else
#if defined(__GNUC__)
#define TS_WEAK __attribute__((weak))
#else
#define TS_WEAK
#endif
TS_WEAK uint32_t ts_port_ticks(void) { return 0u; }
TS_WEAK uint32_t ts_port_ticks_per_second(void) { return 0u; }
#endif
