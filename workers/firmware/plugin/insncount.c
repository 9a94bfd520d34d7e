/*
 * insncount.c - a QEMU TCG plugin (plugin API version 1, as in QEMU 7.2) that counts executed
 * guest instructions for TinyStudio's profiler.
 *
 * Every translated instruction gets an inline "add 1" to one 64-bit counter, so the count is
 * exact and, with -icount shift=0 and no interrupt taken inside the measured code (the firmware
 * enables only UART receive, idle while it classifies, and SysTick only while it streams),
 * identical run to run.
 * Regions are delimited by the entry addresses of two marker functions in the firmware:
 *
 *   -plugin libinsncount.so,out=FILE,region=NAME:0xBEGIN:0xEND[,region=...]
 *
 * Entering BEGIN stores the counter; entering END appends "NAME <instructions>\n" to FILE
 * (flushed at once, so the host can read it as soon as the firmware answers on its UART).
 * At exit the plugin appends "total <instructions>". The count of a region runs from the first
 * instruction of BEGIN up to (not including) the first instruction of END.
 *
 * QEMU ships no qemu-plugin.h here, so the few API declarations used are written out below;
 * their signatures follow QEMU's include/qemu/qemu-plugin.h for API version 1.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TS_EXPORT __attribute__((visibility("default")))

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
struct qemu_info_t;

enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };

typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *insn,
                                                enum qemu_plugin_op op, void *ptr, uint64_t imm);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn,
                                            qemu_plugin_vcpu_udata_cb_t cb,
                                            enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb,
                                    void *userdata);

TS_EXPORT int qemu_plugin_version = 1;

#define MAX_REGIONS 8

typedef struct {
    char name[32];
    uint64_t begin;
    uint64_t end;
    uint64_t start_count;
} region_t;

/* One vCPU on every mps2 machine, so a plain counter needs no per-CPU array. */
static uint64_t insn_count;
static region_t regions[MAX_REGIONS];
static int region_count;
static FILE *out;

static void on_region_begin(unsigned int vcpu_index, void *userdata)
{
    (void)vcpu_index;
    region_t *r = userdata;
    r->start_count = insn_count;
}

static void on_region_end(unsigned int vcpu_index, void *userdata)
{
    (void)vcpu_index;
    region_t *r = userdata;
    fprintf(out, "%s %" PRIu64 "\n", r->name, insn_count - r->start_count);
    fflush(out);
}

static void on_tb_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t vaddr = qemu_plugin_insn_vaddr(insn);
        /* Whether a marker callback runs before or after its instruction's own add is QEMU's
         * choice; it is the same for BEGIN and END, so the region count is unaffected. */
        for (int r = 0; r < region_count; r++) {
            if (vaddr == regions[r].begin) {
                qemu_plugin_register_vcpu_insn_exec_cb(insn, on_region_begin,
                                                       QEMU_PLUGIN_CB_NO_REGS, &regions[r]);
            }
            if (vaddr == regions[r].end) {
                qemu_plugin_register_vcpu_insn_exec_cb(insn, on_region_end,
                                                       QEMU_PLUGIN_CB_NO_REGS, &regions[r]);
            }
        }
        qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &insn_count, 1);
    }
}

static void on_plugin_exit(qemu_plugin_id_t id, void *userdata)
{
    (void)id;
    (void)userdata;
    fprintf(out, "total %" PRIu64 "\n", insn_count);
    fflush(out);
    if (out != stderr) {
        fclose(out);
    }
}

/* Parses "NAME:0xBEGIN:0xEND"; returns 0 on success. */
static int parse_region(const char *spec, region_t *r)
{
    const char *colon = strchr(spec, ':');
    if (!colon || colon == spec || (size_t)(colon - spec) >= sizeof r->name) {
        return -1;
    }
    memcpy(r->name, spec, (size_t)(colon - spec));
    r->name[colon - spec] = 0;
    char *rest;
    r->begin = strtoull(colon + 1, &rest, 0);
    if (*rest != ':') {
        return -1;
    }
    char *tail;
    r->end = strtoull(rest + 1, &tail, 0);
    if (*tail != 0) {
        return -1;
    }
    /* Thumb symbol values carry bit 0; instruction addresses do not. */
    r->begin &= ~(uint64_t)1;
    r->end &= ~(uint64_t)1;
    return 0;
}

TS_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const struct qemu_info_t *info, int argc,
                                  char **argv)
{
    (void)info;
    const char *out_path = NULL;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "out=", 4) == 0) {
            out_path = argv[i] + 4;
        } else if (strncmp(argv[i], "region=", 7) == 0 && region_count < MAX_REGIONS) {
            if (parse_region(argv[i] + 7, &regions[region_count]) != 0) {
                fprintf(stderr, "insncount: bad region '%s' (want NAME:0xBEGIN:0xEND)\n",
                        argv[i] + 7);
                return -1;
            }
            region_count++;
        } else {
            fprintf(stderr, "insncount: unknown argument '%s'\n", argv[i]);
            return -1;
        }
    }
    out = out_path ? fopen(out_path, "w") : stderr;
    if (!out) {
        fprintf(stderr, "insncount: cannot open '%s'\n", out_path);
        return -1;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb_translate);
    qemu_plugin_register_atexit_cb(id, on_plugin_exit, NULL);
    return 0;
}
