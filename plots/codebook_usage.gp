# codebook_usage.gp — codebook perplexity and share of codes used against the codebook
# size K (BEAT stage 1, DESIGN §4.7).
#
# Data (datafile): one block per series (a codebook of one method/variant group), rows
#   K  perplexity_mean  perplexity_std  used_share_mean  used_share_std  seeds
# ("?" where a statistic is missing). Preamble variables: datafile, outbase, width, height,
#   plot_title, nseries, titles, sizes, xmin, xmax.

set logscale x 2
set xrange [xmin:xmax]
set xtics ()
do for [k in sizes] { set xtics add (k int(k)) }
set xlabel "codebook size K (log2 scale)"

do for [fmt in bb_formats] {
    eval bb_terminal(fmt)
    eval bb_output(fmt)
    set multiplot layout 1,2 title plot_title
    set title "perplexity (uniform use: K)"
    set logscale y 2
    set ylabel "perplexity"
    set yrange [*:*]
    set key bottom right
    plot for [i=0:nseries-1] datafile index i using 1:2:3 \
            with yerrorlines lw 2 pt 7 ps 0.8 title word(titles, i+1), \
        x with lines dt 2 lc rgb "#888888" title "K"
    set title "share of codes used"
    unset logscale y
    set ylabel "used codes / K"
    set yrange [0:1.05]
    set key bottom left
    plot for [i=0:nseries-1] datafile index i using 1:4:5 \
        with yerrorlines lw 2 pt 7 ps 0.8 title word(titles, i+1)
    unset multiplot
    unset output
}
