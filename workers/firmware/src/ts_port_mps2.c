/* ts_port_mps2.c - ts_port for Arm MPS2 FPGA images (QEMU mps2-*): CMSDK APB UART0 and timer0. */
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
