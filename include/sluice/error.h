/* include/sluice/error.h: the error codes every sluice call returns and the
 * optional error record that says what was wrong and where. */
#ifndef SL_ERROR_PUBLIC_H
#define SL_ERROR_PUBLIC_H

#ifdef __cplusplus
extern "C" {
#endif

/* A call returns 0 or one of these negative codes. */
enum {
    SL_OK = 0,
    SL_ENOMEM = -1,     /* out of memory */
    SL_EINVAL = -2,     /* bad input: the message says what and where */
    SL_ENOTFOUND = -3,  /* no such key, run, task or file */
    SL_EIO = -4,        /* a file or socket failed */
    SL_ETIMEDOUT = -5,  /* no answer in time */
    SL_EPROTO = -6,     /* a peer broke the protocol */
    SL_ETOOBIG = -7,    /* over a documented size cap */
    SL_ECACHE = -8,     /* the cache backend failed */
    SL_ETASK = -9,      /* a task reported failure */
    SL_EEXIST = -10,    /* already there */
    SL_EREJECTED = -11, /* the broker refused the request */
    SL_ESTATE = -12     /* a state change that is not allowed (a bug) */
};

/* What went wrong, in words that name the input and the place:
 * "flow.yaml:12:7: task 'add' has no 'run'". */
typedef struct sl_error {
    int code;      /* one of the SL_E... codes, 0 when clear */
    char msg[512]; /* NUL-terminated message */
} sl_error_t;

/* Returns a constant name for an SL_E... code. */
const char *sl_strerror(int rc);

#ifdef __cplusplus
}
#endif

#endif
