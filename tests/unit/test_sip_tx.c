/* RFC 3261 transaction state machines (sip_tx). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/sip/sip_tx.h"

/* Runs timers until done or `until`; records when each action happened. */
struct trace {
	int64_t when[64];
	int what[64];
	int n;
};

static void run(struct sip_tx *t, int64_t until, struct trace *tr)
{
	int64_t d;
	while ((d = sip_tx_deadline(t)) && d <= until && tr->n < 64) {
		int a = sip_tx_timer(t, d);
		if (a) {
			tr->when[tr->n] = d;
			tr->what[tr->n++] = a;
		}
		if (a & SIP_TX_DONE)
			break;
	}
}

static void test_ict_retransmits_then_times_out(void **state)
{
	(void)state;
	struct sip_tx t;
	struct trace tr = {0};
	sip_tx_client_start(&t, true, false, 0);
	run(&t, 100000, &tr);
	/* Timer A: T1, doubling; Timer B: 64*T1 */
	const int64_t want[] = {500, 1500, 3500, 7500, 15500, 31500};
	assert_int_equal(tr.n, 7);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(tr.when[i], want[i]);
		assert_int_equal(tr.what[i], SIP_TX_SEND_REQUEST);
	}
	assert_int_equal(tr.when[6], 32000);
	assert_int_equal(tr.what[6], SIP_TX_TIMEOUT | SIP_TX_DONE);
	assert_int_equal(t.state, SIP_TX_TERMINATED);
}

static void test_ict_reliable_never_retransmits(void **state)
{
	(void)state;
	struct sip_tx t;
	struct trace tr = {0};
	sip_tx_client_start(&t, true, true, 0);
	run(&t, 100000, &tr);
	assert_int_equal(tr.n, 1);
	assert_int_equal(tr.when[0], 32000);
	assert_int_equal(tr.what[0], SIP_TX_TIMEOUT | SIP_TX_DONE);
}

static void test_ict_provisional_stops_retransmission(void **state)
{
	(void)state;
	struct sip_tx t;
	struct trace tr = {0};
	sip_tx_client_start(&t, true, false, 0);
	assert_int_equal(sip_tx_client_response(&t, 180, 700), SIP_TX_DELIVER);
	assert_int_equal(t.state, SIP_TX_PROCEEDING);
	assert_int_equal(sip_tx_deadline(&t), 0); /* the user's own timer C decides now */
	/* a failure: ACK, deliver, Completed for Timer D (32 s) absorbing repeats */
	assert_int_equal(sip_tx_client_response(&t, 486, 1000), SIP_TX_SEND_ACK | SIP_TX_DELIVER);
	assert_int_equal(t.state, SIP_TX_COMPLETED);
	assert_int_equal(sip_tx_client_response(&t, 486, 1500), SIP_TX_SEND_ACK);
	run(&t, 100000, &tr);
	assert_int_equal(tr.n, 1);
	assert_int_equal(tr.when[0], 33000);
	assert_int_equal(tr.what[0], SIP_TX_DONE);
}

static void test_ict_2xx_accepted_state(void **state)
{
	(void)state;
	struct sip_tx t;
	struct trace tr = {0};
	sip_tx_client_start(&t, true, false, 0);
	assert_int_equal(sip_tx_client_response(&t, 200, 100), SIP_TX_DELIVER);
	assert_int_equal(t.state, SIP_TX_ACCEPTED);
	/* RFC 6026: retransmitted 2xx still reach the user (to ACK them) */
	assert_int_equal(sip_tx_client_response(&t, 200, 600), SIP_TX_DELIVER);
	assert_int_equal(sip_tx_client_response(&t, 180, 700), 0);
	run(&t, 100000, &tr);
	assert_int_equal(tr.n, 1);
	assert_int_equal(tr.when[0], 100 + 32000); /* Timer M */
}

static void test_nict_timer_e_caps_at_t2(void **state)
{
	(void)state;
	struct sip_tx t;
	struct trace tr = {0};
	sip_tx_client_start(&t, false, false, 0);
	run(&t, 100000, &tr);
	const int64_t want[] = {500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500};
	assert_int_equal(tr.n, 11);
	for (int i = 0; i < 10; i++)
		assert_int_equal(tr.when[i], want[i]);
	assert_int_equal(tr.what[10], SIP_TX_TIMEOUT | SIP_TX_DONE);
	assert_int_equal(tr.when[10], 32000); /* Timer F */
}

static void test_nict_proceeding_and_completed(void **state)
{
	(void)state;
	struct sip_tx t;
	struct trace tr = {0};
	sip_tx_client_start(&t, false, false, 0);
	assert_int_equal(sip_tx_timer(&t, 500), SIP_TX_SEND_REQUEST);
	assert_int_equal(sip_tx_client_response(&t, 100, 600), SIP_TX_DELIVER);
	/* in Proceeding, Timer E runs at T2 */
	assert_int_equal(sip_tx_timer(&t, 1500), SIP_TX_SEND_REQUEST);
	assert_int_equal(sip_tx_deadline(&t), 1500 + SIP_T2);
	assert_int_equal(sip_tx_client_response(&t, 200, 2000), SIP_TX_DELIVER);
	assert_int_equal(sip_tx_client_response(&t, 200, 2100), 0); /* absorbed */
	run(&t, 100000, &tr);
	assert_int_equal(tr.n, 1);
	assert_int_equal(tr.when[0], 2000 + SIP_T4); /* Timer K */
	/* reliable: done at once */
	sip_tx_client_start(&t, false, true, 0);
	assert_int_equal(sip_tx_client_response(&t, 404, 10), SIP_TX_DELIVER | SIP_TX_DONE);
}

static void test_ist_failure_waits_for_ack(void **state)
{
	(void)state;
	struct sip_tx t;
	struct trace tr = {0};
	sip_tx_server_start(&t, true, false, 0);
	assert_int_equal(sip_tx_server_request(&t, false, 50), 0); /* nothing to resend yet */
	assert_int_equal(sip_tx_server_respond(&t, 100, 60), SIP_TX_SEND_RESPONSE);
	assert_int_equal(sip_tx_server_request(&t, false, 400), SIP_TX_SEND_RESPONSE);
	assert_int_equal(sip_tx_server_respond(&t, 486, 1000), SIP_TX_SEND_RESPONSE);
	assert_int_equal(sip_tx_server_respond(&t, 200, 1001), -1);
	/* Timer G resends the response, doubling to T2, until the ACK */
	assert_int_equal(sip_tx_timer(&t, 1500), SIP_TX_SEND_RESPONSE);
	assert_int_equal(sip_tx_timer(&t, 2500), SIP_TX_SEND_RESPONSE);
	assert_int_equal(sip_tx_server_request(&t, false, 2600), SIP_TX_SEND_RESPONSE);
	assert_int_equal(sip_tx_server_request(&t, true, 3000), 0);
	assert_int_equal(t.state, SIP_TX_CONFIRMED);
	assert_int_equal(sip_tx_server_request(&t, true, 3100), 0); /* absorbed */
	run(&t, 100000, &tr);
	assert_int_equal(tr.n, 1);
	assert_int_equal(tr.when[0], 3000 + SIP_T4); /* Timer I */
}

static void test_ist_no_ack_times_out(void **state)
{
	(void)state;
	struct sip_tx t;
	struct trace tr = {0};
	sip_tx_server_start(&t, true, false, 0);
	sip_tx_server_respond(&t, 603, 0);
	run(&t, 100000, &tr);
	const int64_t want[] = {500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500};
	assert_int_equal(tr.n, 11);
	for (int i = 0; i < 10; i++)
		assert_int_equal(tr.when[i], want[i]);
	assert_int_equal(tr.what[10], SIP_TX_TIMEOUT | SIP_TX_DONE); /* Timer H */
}

static void test_ist_2xx_accepted(void **state)
{
	(void)state;
	struct sip_tx t;
	sip_tx_server_start(&t, true, true, 0);
	assert_int_equal(sip_tx_server_respond(&t, 200, 10), SIP_TX_SEND_RESPONSE);
	assert_int_equal(t.state, SIP_TX_ACCEPTED);
	assert_int_equal(sip_tx_server_request(&t, false, 20), 0); /* INVITE again: absorbed */
	assert_int_equal(sip_tx_server_request(&t, true, 30), SIP_TX_DELIVER); /* ACK to the user */
	assert_int_equal(sip_tx_server_respond(&t, 200, 40), SIP_TX_SEND_RESPONSE);
	assert_int_equal(sip_tx_timer(&t, 10 + 32000), SIP_TX_DONE); /* Timer L */
}

static void test_nist(void **state)
{
	(void)state;
	struct sip_tx t;
	sip_tx_server_start(&t, false, false, 0);
	assert_int_equal(sip_tx_server_request(&t, false, 10), 0);
	assert_int_equal(sip_tx_server_respond(&t, 200, 20), SIP_TX_SEND_RESPONSE);
	assert_int_equal(sip_tx_server_request(&t, false, 30), SIP_TX_SEND_RESPONSE);
	assert_int_equal(sip_tx_deadline(&t), 20 + 32000); /* Timer J */
	assert_int_equal(sip_tx_server_respond(&t, 500, 40), -1);
	assert_int_equal(sip_tx_timer(&t, 20 + 32000), SIP_TX_DONE);
	sip_tx_server_start(&t, false, true, 0);
	assert_int_equal(sip_tx_server_respond(&t, 404, 1), SIP_TX_SEND_RESPONSE | SIP_TX_DONE);
	assert_int_equal(sip_tx_server_respond(&t, 99, 1), -1);
}

/* ---- server transactions, one transition each (RFC 3261 17.2, RFC 6026) ---- */

static void test_ist_retransmission_before_any_answer_is_absorbed(void **state)
{
	(void)state;
	struct sip_tx t;
	sip_tx_server_start(&t, true, false, 0);
	assert_int_equal(t.state, SIP_TX_PROCEEDING);
	assert_int_equal(sip_tx_deadline(&t), 0); /* no timer: the user answers */
	assert_int_equal(sip_tx_server_request(&t, false, 10), 0);
	assert_int_equal(sip_tx_server_request(&t, true, 20), 0); /* a stray ACK */
	assert_int_equal(t.state, SIP_TX_PROCEEDING);
}

static void test_ist_provisional_is_resent_on_retransmission(void **state)
{
	(void)state;
	struct sip_tx t;
	sip_tx_server_start(&t, true, false, 0);
	assert_int_equal(sip_tx_server_respond(&t, 180, 10), SIP_TX_SEND_RESPONSE);
	assert_int_equal(t.state, SIP_TX_PROCEEDING);
	assert_int_equal(sip_tx_deadline(&t), 0); /* provisionals are not resent by timer */
	assert_int_equal(sip_tx_server_request(&t, false, 20), SIP_TX_SEND_RESPONSE);
}

static void test_ist_timer_g_doubles_to_t2(void **state)
{
	(void)state;
	struct sip_tx t;
	sip_tx_server_start(&t, true, false, 0);
	sip_tx_server_respond(&t, 486, 0);
	assert_int_equal(t.state, SIP_TX_COMPLETED);
	const int64_t at[] = {500, 1500, 3500, 7500, 11500};
	for (int i = 0; i < 5; i++) {
		assert_int_equal(sip_tx_deadline(&t), at[i]);
		assert_int_equal(sip_tx_timer(&t, at[i]), SIP_TX_SEND_RESPONSE);
	}
	assert_int_equal(t.retx_interval, SIP_T2);
}

static void test_ist_reliable_failure_no_timer_g_and_ack_ends(void **state)
{
	(void)state;
	struct sip_tx t;
	sip_tx_server_start(&t, true, true, 0);
	sip_tx_server_respond(&t, 404, 100);
	assert_int_equal(t.retx_at, 0);
	assert_int_equal(sip_tx_deadline(&t), 100 + 64 * SIP_T1);	     /* Timer H only */
	assert_int_equal(sip_tx_server_request(&t, true, 200), SIP_TX_DONE); /* Timer I = 0 */
	assert_int_equal(t.state, SIP_TX_TERMINATED);
}

static void test_ist_confirmed_absorbs_invite_and_ends_at_timer_i(void **state)
{
	(void)state;
	struct sip_tx t;
	sip_tx_server_start(&t, true, false, 0);
	sip_tx_server_respond(&t, 500, 0);
	assert_int_equal(sip_tx_server_request(&t, true, 700), 0);
	assert_int_equal(t.state, SIP_TX_CONFIRMED);
	assert_int_equal(t.retx_at, 0);	   /* Timer G stops */
	assert_int_equal(t.timeout_at, 0); /* and H */
	assert_int_equal(sip_tx_server_request(&t, false, 800), 0);
	assert_int_equal(sip_tx_timer(&t, 700 + SIP_T4 - 1), 0);
	assert_int_equal(sip_tx_timer(&t, 700 + SIP_T4), SIP_TX_DONE);
}

static void test_ist_respond_refused_out_of_range_or_after_final(void **state)
{
	(void)state;
	struct sip_tx t;
	sip_tx_server_start(&t, true, false, 0);
	assert_int_equal(sip_tx_server_respond(&t, 99, 0), -1);
	assert_int_equal(sip_tx_server_respond(&t, 700, 0), -1);
	sip_tx_server_respond(&t, 486, 0);
	assert_int_equal(sip_tx_server_respond(&t, 180, 1), -1);
	assert_int_equal(sip_tx_server_respond(&t, 486, 1), -1);
	assert_int_equal(t.last_status, 486);
}

static void test_ist_resend_2xx_until_ack(void **state)
{
	(void)state;
	struct sip_tx t;
	sip_tx_server_start(&t, true, false, 0);
	t.resend_2xx = true;
	assert_int_equal(sip_tx_server_respond(&t, 200, 0), SIP_TX_SEND_RESPONSE);
	assert_int_equal(t.state, SIP_TX_ACCEPTED);
	assert_int_equal(sip_tx_timer(&t, 500), SIP_TX_SEND_RESPONSE);
	assert_int_equal(sip_tx_timer(&t, 1500), SIP_TX_SEND_RESPONSE);
	assert_int_equal(sip_tx_server_request(&t, false, 1600), SIP_TX_SEND_RESPONSE);
	assert_int_equal(sip_tx_server_request(&t, true, 2000), SIP_TX_DELIVER);
	assert_int_equal(t.retx_at, 0);
	assert_int_equal(sip_tx_deadline(&t), 2000 + SIP_T4);
	assert_int_equal(sip_tx_server_request(&t, true, 2100), SIP_TX_DELIVER); /* deadline kept */
	assert_int_equal(sip_tx_deadline(&t), 2000 + SIP_T4);
	assert_int_equal(sip_tx_timer(&t, 2000 + SIP_T4), SIP_TX_DONE);
}

static void test_ist_resend_2xx_without_ack_ends_at_timer_l(void **state)
{
	(void)state;
	struct sip_tx t;
	struct trace tr = {0};
	sip_tx_server_start(&t, true, false, 0);
	t.resend_2xx = true;
	sip_tx_server_respond(&t, 200, 0);
	run(&t, 100000, &tr);
	const int64_t want[] = {500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500};
	assert_int_equal(tr.n, 11);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(tr.when[i], want[i]);
		assert_int_equal(tr.what[i], SIP_TX_SEND_RESPONSE);
	}
	assert_int_equal(tr.when[10], 64 * SIP_T1);
	assert_int_equal(tr.what[10], SIP_TX_DONE); /* Timer L: no timeout to report */
}

static void test_ist_resend_2xx_not_on_reliable(void **state)
{
	(void)state;
	struct sip_tx t;
	sip_tx_server_start(&t, true, true, 0);
	t.resend_2xx = true;
	sip_tx_server_respond(&t, 200, 0);
	assert_int_equal(t.retx_at, 0);
	assert_int_equal(sip_tx_deadline(&t), 64 * SIP_T1);
}

static void test_nist_provisional_then_final(void **state)
{
	(void)state;
	struct sip_tx t;
	sip_tx_server_start(&t, false, false, 0);
	assert_int_equal(t.state, SIP_TX_TRYING);
	assert_int_equal(sip_tx_server_respond(&t, 100, 5), SIP_TX_SEND_RESPONSE);
	assert_int_equal(t.state, SIP_TX_PROCEEDING);
	assert_int_equal(sip_tx_server_request(&t, false, 6), SIP_TX_SEND_RESPONSE);
	assert_int_equal(sip_tx_server_respond(&t, 200, 7), SIP_TX_SEND_RESPONSE);
	assert_int_equal(t.state, SIP_TX_COMPLETED);
	assert_int_equal(sip_tx_server_request(&t, true, 8), 0); /* no ACK in non-INVITE */
	assert_int_equal(t.retx_at, 0); /* a non-INVITE final is never resent by timer */
}

static void test_nist_timer_j_as_the_owner_sets_it(void **state)
{
	(void)state;
	struct sip_tx t;
	sip_tx_server_start(&t, false, false, 0);
	assert_int_equal(t.timer_j, 64 * SIP_T1);
	t.timer_j = SIP_T4;
	sip_tx_server_respond(&t, 200, 20);
	assert_int_equal(sip_tx_deadline(&t), 20 + SIP_T4);
	assert_int_equal(sip_tx_timer(&t, 20 + SIP_T4 - 1), 0);
	assert_int_equal(sip_tx_timer(&t, 20 + SIP_T4), SIP_TX_DONE);
	assert_int_equal(sip_tx_server_request(&t, false, 20 + SIP_T4), 0); /* terminated */
}

static void test_keys(void **state)
{
	(void)state;
	const char *inv =
		"INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h.example:5070;branch=z9hG4bKx1\r\n"
		"To: <sip:a@b>\r\nFrom: <sip:c@b>;tag=1\r\nCall-ID: k\r\nCSeq: 1 INVITE\r\n"
		"Content-Length: 0\r\n\r\n";
	const char *ack =
		"ACK sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h.example:5070;branch=z9hG4bKx1\r\n"
		"To: <sip:a@b>;tag=2\r\nFrom: <sip:c@b>;tag=1\r\nCall-ID: k\r\nCSeq: 1 ACK\r\n"
		"Content-Length: 0\r\n\r\n";
	const char *cancel =
		"CANCEL sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h.example:5070;branch=z9hG4bKx1\r\n"
		"To: <sip:a@b>\r\nFrom: <sip:c@b>;tag=1\r\nCall-ID: k\r\nCSeq: 1 CANCEL\r\n"
		"Content-Length: 0\r\n\r\n";
	const char *old =
		"INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=1234\r\n"
		"To: <sip:a@b>\r\nFrom: <sip:c@b>;tag=1\r\nCall-ID: k\r\nCSeq: 1 INVITE\r\n"
		"Content-Length: 0\r\n\r\n";
	struct sip_msg m;
	char k1[256], k2[256], k3[256];
	assert_int_equal(sip_msg_parse(&m, inv, strlen(inv), true), 0);
	assert_int_equal(sip_tx_key(&m, true, k1, sizeof(k1)), 0);
	assert_string_equal(k1, "z9hG4bKx1|h.example:5070|INVITE");
	assert_int_equal(sip_msg_parse(&m, ack, strlen(ack), true), 0);
	assert_int_equal(sip_tx_key(&m, true, k2, sizeof(k2)), 0);
	assert_string_equal(k1, k2); /* the ACK finds its INVITE */
	assert_int_equal(sip_msg_parse(&m, cancel, strlen(cancel), true), 0);
	assert_int_equal(sip_tx_key(&m, true, k3, sizeof(k3)), 0);
	assert_string_not_equal(k1, k3);		    /* CANCEL is a transaction of its own */
	assert_int_equal(sip_tx_key(&m, false, k3, 8), -1); /* too small */
	assert_int_equal(sip_msg_parse(&m, old, strlen(old), true), 0);
	assert_int_equal(sip_tx_key(&m, true, k3, sizeof(k3)), -1); /* RFC 2543 branch */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ict_retransmits_then_times_out),
		cmocka_unit_test(test_ict_reliable_never_retransmits),
		cmocka_unit_test(test_ict_provisional_stops_retransmission),
		cmocka_unit_test(test_ict_2xx_accepted_state),
		cmocka_unit_test(test_nict_timer_e_caps_at_t2),
		cmocka_unit_test(test_nict_proceeding_and_completed),
		cmocka_unit_test(test_ist_failure_waits_for_ack),
		cmocka_unit_test(test_ist_no_ack_times_out),
		cmocka_unit_test(test_ist_2xx_accepted),
		cmocka_unit_test(test_nist),
		cmocka_unit_test(test_ist_retransmission_before_any_answer_is_absorbed),
		cmocka_unit_test(test_ist_provisional_is_resent_on_retransmission),
		cmocka_unit_test(test_ist_timer_g_doubles_to_t2),
		cmocka_unit_test(test_ist_reliable_failure_no_timer_g_and_ack_ends),
		cmocka_unit_test(test_ist_confirmed_absorbs_invite_and_ends_at_timer_i),
		cmocka_unit_test(test_ist_respond_refused_out_of_range_or_after_final),
		cmocka_unit_test(test_ist_resend_2xx_until_ack),
		cmocka_unit_test(test_ist_resend_2xx_without_ack_ends_at_timer_l),
		cmocka_unit_test(test_ist_resend_2xx_not_on_reliable),
		cmocka_unit_test(test_nist_provisional_then_final),
		cmocka_unit_test(test_nist_timer_j_as_the_owner_sets_it),
		cmocka_unit_test(test_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
