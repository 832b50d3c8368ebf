/* insnprof: a qemu-user TCG plugin that counts executions per instruction address, for a
 * per-function instruction profile of a static, non-PIE aarch64 binary (bench/arm_insnprof.sh).
 * Addresses in [kBase, kBase + kSpan) are counted one by one; the rest together as "other".
 * The counts are written to $INSNPROF_OUT (default insnprof.txt) at exit as "hexaddr count".
 * The plugin API is declared here, as ../shared/tools/qemu-insnmix does: Debian's qemu-user
 * ships no qemu-plugin.h. Single-threaded programs only (the counters are not atomic). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
struct qemu_info_t;
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
typedef void (*tb_trans_cb)(qemu_plugin_id_t, struct qemu_plugin_tb *);
typedef void (*udata_cb)(qemu_plugin_id_t, void *);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t, tb_trans_cb);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *, size_t);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *, enum qemu_plugin_op,
                                                void *, uint64_t);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t, udata_cb, void *);
__attribute__((visibility("default"))) int qemu_plugin_version = 1;

static const uint64_t kBase = 0x400000; /* where GNU ld places a static aarch64 executable */
static const uint64_t kSpan = 64u << 20;
static uint64_t *counts, other;

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
  (void)id;
  for (size_t i = 0, n = qemu_plugin_tb_n_insns(tb); i < n; ++i) {
    struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
    const uint64_t a = qemu_plugin_insn_vaddr(insn);
    uint64_t *slot = a >= kBase && a < kBase + kSpan ? &counts[(a - kBase) / 4] : &other;
    qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, slot, 1);
  }
}

static void write_counts(qemu_plugin_id_t id, void *p) {
  (void)id, (void)p;
  const char *path = getenv("INSNPROF_OUT");
  FILE *f = fopen(path ? path : "insnprof.txt", "w");
  if (!f) return;
  for (uint64_t i = 0; i < kSpan / 4; ++i)
    if (counts[i]) fprintf(f, "%llx %llu\n", (unsigned long long)(kBase + 4 * i), (unsigned long long)counts[i]);
  fprintf(f, "other %llu\n", (unsigned long long)other);
  fclose(f);
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id,
                                                               const struct qemu_info_t *info,
                                                               int argc, char **argv) {
  (void)info, (void)argc, (void)argv;
  counts = calloc(kSpan / 4, sizeof *counts);
  if (!counts) return -1;
  qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
  qemu_plugin_register_atexit_cb(id, write_counts, NULL);
  return 0;
}
