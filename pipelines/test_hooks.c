/* pipelines/test_hooks.c - the test suites' fault injection (see test_hooks.h). */
#define _POSIX_C_SOURCE 200809L
#include "test_hooks.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* The step named by variable `name`, or -1 when it is unset or not a number. */
static int64_t hook_step(const char *name) {
    const char *v = getenv(name);
    if (!v || !*v) return -1;
    char *end = NULL;
    unsigned long long n = strtoull(v, &end, 10);
    return *end ? -1 : (int64_t)n;
}

void gb_test_hook_kill_at(uint64_t step) {
    if (hook_step("GB_TEST_KILL_AT_STEP") == (int64_t)step) {
        fflush(NULL);
        kill(getpid(), SIGKILL);
    }
}

int gb_test_hook_poison_at(uint64_t step) { return hook_step("GB_TEST_POISON_AT_STEP") == (int64_t)step; }
