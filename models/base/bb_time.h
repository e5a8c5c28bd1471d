/* bb_time — wall-clock timing and memory figures for benchmarks and manifests.
 *   bb_now()          monotonic seconds (CLOCK_MONOTONIC)
 *   bb_peak_rss_mb()  peak resident set size of this process in MiB (getrusage)
 *   bb_num_cores()    online CPU cores (the default --threads)
 */
#ifndef BB_TIME_H
#define BB_TIME_H

double bb_now(void);
double bb_peak_rss_mb(void);
int bb_num_cores(void);

#endif
