/* tests/unit/flow_expect.h: the check every flow-file error test makes:
 * the text is refused, and the error names the place and says what. */
#ifndef SL_TEST_FLOW_EXPECT_H
#define SL_TEST_FLOW_EXPECT_H

/* Fails the test unless text (as flow.yaml) is refused with an error that
 * starts with where ("flow.yaml:LINE:COL") and contains what. */
void sl_test_flow_expect(const char *text, const char *where, const char *what);

#endif
