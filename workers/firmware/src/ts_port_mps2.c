/* ts_port_mps2.c - ts_port for Arm MPS2 FPGA images (QEMU mps2-*): CMSDK APB UART0 and timer0,
 * and the core's SysTick to wake from sleep. */
#include <string.h>

#include "ts_port.h"

#include "ts_build_config.h"

/* CMSDK APB UART registers (Arm DDI 0479, "APB UART"). */
#define UART_DATA (*(volatile uint32_t *)(TS_UART_BASE + 0x000u))
#define UART_STATE (*(volatile uint32_t *)(TS_UART_BASE + 0x004u))
#define UART_CTRL (*(volatile uint32_t *)(TS_UART_BASE + 0x008u))
#define UART_INTCLEAR (*(volatile uint32_t *)(TS_UART_BASE + 0x00Cu))
#define UART_BAUDDIV (*(volatile uint32_t *)(TS_UART_BASE + 0x010u))
#define UART_STATE_TX_FULL 0x1u
#define UART_STATE_RX_FULL 0x2u
#define UART_CTRL_TX_EN 0x1u
#define UART_CTRL_RX_EN 0x2u
#define UART_CTRL_RX_INT_EN 0x8u
#define UART_INT_RX 0x2u

/* NVIC interrupt set-enable registers (ARMv7-M/ARMv8-M system control space). */
#define NVIC_ISER ((volatile uint32_t *)0xE000E100u)

/* SysTick, the 24-bit down-counter every Cortex-M core has, and the SCB's Interrupt Control and
 * State Register (its SysTick pending bit). */
#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SYST_CSR_ENABLE 0x1u
#define SYST_CSR_TICKINT 0x2u
#define SYST_CSR_CLKSOURCE 0x4u /* count the processor clock */
#define SYST_MAX_COUNTS 0x1000000u
#define SCB_ICSR (*(volatile uint32_t *)0xE000ED04u)
#define SCB_ICSR_PENDSTCLR (1u << 25)

/* Received bytes wait here between the interrupt and the protocol loop. The single-byte UART
 * buffer would otherwise overrun whenever the loop is busy (it is on real hardware). */
#define RX_RING_BYTES 512u
static volatile uint8_t rx_ring[RX_RING_BYTES];
static volatile uint32_t rx_head; /* written by the interrupt */
static volatile uint32_t rx_tail; /* written by the loop */

/* CMSDK APB timer registers: a 32-bit down-counter clocked by PCLK. */
#define TIMER_CTRL (*(volatile uint32_t *)(TS_TIMER_BASE + 0x000u))
#define TIMER_VALUE (*(volatile uint32_t *)(TS_TIMER_BASE + 0x004u))
#define TIMER_RELOAD (*(volatile uint32_t *)(TS_TIMER_BASE + 0x008u))
#define TIMER_CTRL_EN 0x1u

#ifndef TS_UART_BAUD
#define TS_UART_BAUD 115200u
#endif

void ts_port_init(void)
{
    /* The divider must be >= 16; QEMU only uses it to pace output, hardware needs it exact. */
    UART_BAUDDIV = TS_PCLK_HZ / TS_UART_BAUD;
    UART_CTRL = UART_CTRL_TX_EN | UART_CTRL_RX_EN | UART_CTRL_RX_INT_EN;
    TIMER_CTRL = 0u;
    TIMER_RELOAD = 0xFFFFFFFFu;
    TIMER_VALUE = 0xFFFFFFFFu;
    TIMER_CTRL = TIMER_CTRL_EN;
    NVIC_ISER[TS_UART_RX_IRQ / 32u] = 1u << (TS_UART_RX_IRQ % 32u);
    __asm__ volatile("cpsie i" ::: "memory");
}

static volatile uint32_t rx_stalled; /* the ring was full: reception waits in the UART */

/* Moves received bytes into the ring. When the ring is full the byte stays in the UART's data
 * register and the receive interrupt is switched off: the sender is held back (QEMU stops
 * feeding a full UART; a real link relies on the host pacing its lines) instead of bytes being
 * dropped. ts_port_read_byte() resumes reception once it has made room. */
static void drain_rx(void)
{
    while (UART_STATE & UART_STATE_RX_FULL) {
        uint32_t next = (rx_head + 1u) % RX_RING_BYTES;
        if (next == rx_tail) {
            UART_CTRL = UART_CTRL & ~UART_CTRL_RX_INT_EN;
            rx_stalled = 1u;
            return;
        }
        rx_ring[rx_head] = (uint8_t)UART_DATA;
        rx_head = next;
    }
}

void ts_port_uart_rx_isr(void)
{
    /* Clear first, then drain: a byte landing after the last check raises the interrupt anew
     * instead of sitting unseen in the data register (which would stop reception). */
    UART_INTCLEAR = UART_INT_RX;
    drain_rx();
}

void ts_port_wait_for_input(void)
{
    /* With interrupts masked, WFI still wakes on the pending UART interrupt, so a byte that
     * arrives between the check and the WFI cannot be slept through. */
    __asm__ volatile("cpsid i" ::: "memory");
    if (rx_head == rx_tail) {
        __asm__ volatile("dsb\n\twfi" ::: "memory");
    }
    __asm__ volatile("cpsie i" ::: "memory");
}

void ts_port_sleep_until(uint32_t tick)
{
    /* Same masked WFI as ts_port_wait_for_input: the UART interrupt or the SysTick expiring
     * between the checks and the WFI leaves its interrupt pending, which WFI does not sleep
     * through. SysTick counts the processor clock, which on the MPS2 images is the SYSCLK that
     * also clocks timer0, so one SysTick count is one tick. A sleep longer than SysTick's 24 bits
     * wakes early and the caller sleeps again. */
    __asm__ volatile("cpsid i" ::: "memory");
    int32_t remaining = (int32_t)(tick - ts_port_ticks());
    if (remaining > 1 && rx_head == rx_tail) {
        uint32_t counts = (uint32_t)remaining;
        if (counts > SYST_MAX_COUNTS) {
            counts = SYST_MAX_COUNTS;
        }
        SYST_CSR = 0u;
        SYST_RVR = counts - 1u;
        SYST_CVR = 0u; /* any write clears it: the count restarts from the reload value */
        SYST_CSR = SYST_CSR_CLKSOURCE | SYST_CSR_TICKINT | SYST_CSR_ENABLE;
        __asm__ volatile("dsb\n\twfi" ::: "memory");
        /* Stop SysTick and drop its pending interrupt (if it was the wake) before unmasking, so
         * its handler does not run and nothing ticks outside this function. */
        SYST_CSR = 0u;
        SCB_ICSR = SCB_ICSR_PENDSTCLR;
    }
    __asm__ volatile("cpsie i" ::: "memory");
}

void ts_port_systick_isr(void)
{
    /* Normally unreached (ts_port_sleep_until clears the pending SysTick); if it is, SysTick
     * must not keep interrupting. */
    SYST_CSR = 0u;
}

void ts_port_write(const char *data, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        while (UART_STATE & UART_STATE_TX_FULL) {
        }
        UART_DATA = (uint8_t)data[i];
    }
}

int ts_port_read_byte(void)
{
    if (rx_head == rx_tail) {
        return -1;
    }
    int byte = rx_ring[rx_tail];
    rx_tail = (rx_tail + 1u) % RX_RING_BYTES;
    if (rx_stalled) {
        __asm__ volatile("cpsid i" ::: "memory");
        rx_stalled = 0u;
        drain_rx();
        if (!rx_stalled) {
            UART_CTRL = UART_CTRL | UART_CTRL_RX_INT_EN;
        }
        __asm__ volatile("cpsie i" ::: "memory");
    }
    return byte;
}

uint32_t ts_port_ticks(void)
{
    /* The timer counts down from 0xFFFFFFFF; invert it to count up. */
    return ~TIMER_VALUE;
}

uint32_t ts_port_ticks_per_second(void)
{
    return TS_PCLK_HZ;
}

#if TS_SEMIHOSTING
/* One semihosting call: `op` with its argument block; QEMU answers in r0. */
static uint32_t semihost(uint32_t op, const void *args)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = args;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}
#endif

int ts_port_read_host_file(const char *name, void *buf, size_t n)
{
#if TS_SEMIHOSTING
    /* SYS_OPEN (0x01) in mode 1 ("rb"), SYS_FLEN (0x0C), SYS_READ (0x06: answers the bytes it
     * did not read), SYS_CLOSE (0x02). QEMU resolves the name in its working directory. */
    uint32_t open_args[3] = {(uint32_t)name, 1u, (uint32_t)strlen(name)};
    uint32_t handle = semihost(0x01u, open_args);
    if (handle == 0xFFFFFFFFu) {
        return -1;
    }
    uint32_t handle_args[1] = {handle};
    int ok = semihost(0x0Cu, handle_args) == (uint32_t)n;
    if (ok) {
        uint32_t read_args[3] = {handle, (uint32_t)buf, (uint32_t)n};
        ok = semihost(0x06u, read_args) == 0u;
    }
    semihost(0x02u, handle_args);
    return ok ? 0 : -1;
#else
    (void)name;
    (void)buf;
    (void)n;
    return -1;
#endif
}

void ts_port_exit(int code)
{
#if TS_SEMIHOSTING
    /* Semihosting SYS_EXIT (0x18) with ADP_Stopped_ApplicationExit; QEMU exits. */
    register uint32_t r0 __asm__("r0") = 0x18u;
    register uint32_t r1 __asm__("r1") = code == 0 ? 0x20026u : 0x20024u;
    __asm__ volatile("bkpt 0xab" : : "r"(r0), "r"(r1) : "memory");
#else
    (void)code;
#endif
    for (;;) {
    }
}
