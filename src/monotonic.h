/* monotonic: the one clock for durations and deadlines (CLOCK_MONOTONIC),
 * which no change of the wall clock moves. */
#ifndef AGENTAUTH_MONOTONIC_H
#define AGENTAUTH_MONOTONIC_H

/* Microseconds and milliseconds since an unspecified start. */
long long monotonic_us(void);
long long monotonic_ms(void);

#endif
