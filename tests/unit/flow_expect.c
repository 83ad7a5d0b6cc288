/* tests/unit/flow_expect.c: see flow_expect.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "flow_expect.h"

#include "flow.h"

#include <string.h>

void
sl_test_flow_expect(const char *text, const char *where, const char *what)
{
    sl_error_t err = {0};
    sl_flow_t *f = sl_flow_parse(text, strlen(text), "flow.yaml", &err);
    if (f)
        fail_msg("accepted a bad flow (expected '%s')", what);
    if (strncmp(err.msg, where, strlen(where)) != 0 || !strstr(err.msg, what))
        fail_msg("error '%s' is not at '%s' saying '%s'", err.msg, where, what);
}
