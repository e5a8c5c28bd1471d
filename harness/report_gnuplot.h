/* report_gnuplot — finding and running gnuplot and the plot templates for `beatbench report`.
 *
 *   bb_report_gnuplot_find(opt)   the gnuplot program: opt, else $BB_GNUPLOT, else "gnuplot";
 *                                 a name without '/' is looked up on $PATH. Returns a fresh
 *                                 path, or NULL when it is not an executable file.
 *   bb_report_plots_find(opt)     the templates directory (holding codebook_metric.gp):
 *                                 opt, else $BB_PLOTS_DIR, else plots/ in the executable's
 *                                 directory or up to three levels above it, else ./plots.
 *                                 Fresh path or NULL.
 *   bb_report_gnuplot_run(gnuplot, dir, script, log, msg, cap)
 *       runs `gnuplot -e "bb_part='.part'" SCRIPT` in directory dir (fork + exec, stdin
 *       /dev/null, stdout and stderr into the file log), waits, and returns 0 on exit status
 *       0; otherwise -1 with msg holding the exit status and gnuplot's last message line.
 * The templates write NAME.png.part and NAME.svg.part when bb_part is set (the report
 * renames them into place after a clean exit), NAME.png and NAME.svg when run by hand.
 */
#ifndef BB_REPORT_GNUPLOT_H
#define BB_REPORT_GNUPLOT_H

#include <stddef.h>

char *bb_report_gnuplot_find(const char *opt);
char *bb_report_plots_find(const char *opt);
int bb_report_gnuplot_run(const char *gnuplot, const char *dir, const char *script,
                          const char *log, char *msg, size_t cap);

#endif
