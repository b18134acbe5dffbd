/* pipelines/test_hooks.h - fault injection for the test suites, read from the environment by
 * the shipped binary (tests run the real `genbench`, so the hooks cannot be compiled out):
 *   GB_TEST_KILL_AT_STEP=N    SIGKILL the process as training step N starts, as a real kill
 *                             would (the kill/resume determinism tests);
 *   GB_TEST_POISON_AT_STEP=N  a NaN in step N's batch (the divergence path: exit 4, the last
 *                             good checkpoint kept).
 * Unset, they cost one getenv per step and change nothing. Used by tests/test_determinism.c,
 * tests/test_gan_pipelines.c and tests/smoke.sh. */
#ifndef GB_PIPELINES_TEST_HOOKS_H
#define GB_PIPELINES_TEST_HOOKS_H

#include <stdint.h>

void gb_test_hook_kill_at(uint64_t step);
/* 1 when step's batch should be poisoned. */
int gb_test_hook_poison_at(uint64_t step);

#endif
