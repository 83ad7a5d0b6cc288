/* worker/http_tasks.h: http@1 and load@1, the tasks that send HTTP
 * requests (http_tasks.c). */
#ifndef SL_HTTP_TASKS_H
#define SL_HTTP_TASKS_H

#include "registry.h"

/* Adds http@1 and load@1 (a worker started with --http-allow rules). */
int sl_http_tasks_register(sl_registry_t *reg, sl_error_t *err);

#endif
