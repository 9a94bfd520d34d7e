/* ts_port.h - the few board services the TinyStudio serial firmware needs (UART, clock, exit). */
#ifndef TS_PORT_H
#define TS_PORT_H

#include <stddef.h>
#include <stdint.h>

/* Brings up the UART (115200 8N1, received bytes queued by its receive interrupt) and a
 * free-running tick counter. Two interrupts are ever enabled: UART receive, from here on, and
 * the core's SysTick, only while ts_port_sleep_until() sleeps (so it never fires during a
 * classify, whose instruction count stays exact). */
void ts_port_init(void);

/* Writes n bytes to the UART, waiting while its transmit buffer is full. */
void ts_port_write(const char *data, size_t n);

/* Returns the next received byte, or -1 when none is waiting (never blocks). */
int ts_port_read_byte(void);

/* Sleeps (WFI) until a byte has been received; returns at once if one is waiting. */
void ts_port_wait_for_input(void);

/* Sleeps (WFI) until ts_port_ticks() reaches `tick` (at most 2^31 ticks ahead) or a byte has
 * been received, whichever comes first; returns at once if either has already happened. It may
 * also return a little early, so callers compare ts_port_ticks() with `tick` again. */
void ts_port_sleep_until(uint32_t tick);

/* The UART receive and SysTick interrupt handlers (placed in the vector table by ts_startup.c). */
void ts_port_uart_rx_isr(void);
void ts_port_systick_isr(void);

/* A free-running, up-counting 32-bit tick counter and its rate. */
uint32_t ts_port_ticks(void);
uint32_t ts_port_ticks_per_second(void);

/* Stops the board: under QEMU a semihosting exit ends the emulator; elsewhere it spins. */
void ts_port_exit(int code) __attribute__((noreturn));

/* Reads exactly `n` bytes of the host file `name` into `buf`: 0 on success; -1 when the board
 * has no host (only virtual boards reach one, through semihosting), or the file is missing or
 * not exactly `n` bytes long. */
int ts_port_read_host_file(const char *name, void *buf, size_t n);

/* Bytes of stack used so far (deepest point reached since reset), from the painted stack. */
size_t ts_port_stack_used(void);
size_t ts_port_stack_size(void);

#endif
