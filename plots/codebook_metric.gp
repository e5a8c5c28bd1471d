# codebook_metric.gp — one metric against the codebook size K (BEAT, DESIGN §9).
#
# Data (datafile): one block per series (separated by two blank lines), rows
#   K  mean  std  seeds            (std: sample standard deviation over seeds)
# Preamble variables: datafile, outbase, width, height, plot_title, ylabel, nseries,
#   titles (one word per series), sizes (the K values, for the tics), xmin, xmax.

set logscale x 2
set xrange [xmin:xmax]
set xtics ()
do for [k in sizes] { set xtics add (k int(k)) }
set xlabel "codebook size K (log2 scale)"
set ylabel ylabel
set title plot_title
set key top left

do for [fmt in bb_formats] {
    eval bb_terminal(fmt)
    eval bb_output(fmt)
    plot for [i=0:nseries-1] datafile index i using 1:2:3 \
        with yerrorlines lw 2 pt 7 ps 0.8 title word(titles, i+1)
    unset output
}
