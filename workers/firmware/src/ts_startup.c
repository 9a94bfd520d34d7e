/* ts_startup.c - Cortex-M vector table and reset handler: copy .data, zero .bss, enable the FPU. */
#include <stddef.h>
#include <stdint.h>

#include "ts_port.h"

extern uint32_t __data_load__[], __data_start__[], __data_end__[];
extern uint32_t __bss_start__[], __bss_end__[];
extern uint32_t __stack_limit__[], __stack_top__[];

int main(void);
void Reset_Handler(void);
void ts_fault_handler(void);

#define STACK_PAINT 0xA5A5A5A5u

#include "ts_build_config.h"

/* 16 system exceptions and 64 interrupts: enough for every catalogued board's UART line.
 * The range initializer fills every slot, then the UART's slot is overridden on purpose. */
#pragma GCC diagnostic ignored "-Woverride-init"
#define TS_VECTOR_COUNT (16 + 64)

__attribute__((section(".vectors"), used)) void (*const ts_vector_table[TS_VECTOR_COUNT])(void) = {
    (void (*)(void))(uintptr_t)__stack_top__,
    Reset_Handler,
    ts_fault_handler, /* NMI */
    ts_fault_handler, /* HardFault */
    ts_fault_handler, /* MemManage */
    ts_fault_handler, /* BusFault */
    ts_fault_handler, /* UsageFault */
    ts_fault_handler, /* SecureFault (ARMv8-M) */
    0,
    0,
    0,
    ts_fault_handler, /* SVCall */
    ts_fault_handler, /* DebugMonitor */
    0,
    ts_fault_handler, /* PendSV */
    ts_port_systick_isr, /* SysTick */
    [16 ... TS_VECTOR_COUNT - 1] = ts_fault_handler,
    [16 + TS_UART_RX_IRQ] = ts_port_uart_rx_isr,
};

void Reset_Handler(void)
{
    uint32_t *src = __data_load__;
    for (uint32_t *dst = __data_start__; dst < __data_end__;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = __bss_start__; dst < __bss_end__;) {
        *dst++ = 0u;
    }
    /* Paint the unused stack so the deepest point reached can be measured later. */
    uint32_t *sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (uint32_t *p = __stack_limit__; p < sp - 16; p++) {
        *p = STACK_PAINT;
    }
#if defined(__ARM_FP)
    /* CPACR: full access to CP10/CP11 before any floating-point instruction runs. */
    volatile uint32_t *cpacr = (volatile uint32_t *)0xE000ED88u;
    *cpacr |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
    (void)main();
    ts_port_exit(0);
}

size_t ts_port_stack_size(void)
{
    return (size_t)((uintptr_t)__stack_top__ - (uintptr_t)__stack_limit__);
}

size_t ts_port_stack_used(void)
{
    const uint32_t *p = __stack_limit__;
    while (p < __stack_top__ && *p == STACK_PAINT) {
        p++;
    }
    return (size_t)((uintptr_t)__stack_top__ - (uintptr_t)p);
}

void ts_fault_handler(void)
{
    uint32_t ipsr;
    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    static const char msg[] = "ERR fault exception ";
    char num[4] = {(char)('0' + (ipsr / 10u) % 10u), (char)('0' + ipsr % 10u), '\n', 0};
    ts_port_write(msg, sizeof msg - 1u);
    ts_port_write(num, 3u);
    ts_port_exit(1);
}
