# variants_text.gp — tokenization variants as grouped bars (BEAT ablation, DESIGN §9):
# one group per text metric, one bar per variant, error bars = sample std over seeds.
#
# Data (datafile): one row per metric: "label" then mean std for each bar ("?" = missing).
# Preamble variables: datafile, outbase, width, height, plot_title, nbars, titles.

set style data histograms
set style histogram errorbars gap 2 lw 1
set style fill solid 0.75 border -1
set boxwidth 0.9
set yrange [0:*]
set ylabel "score (mean over seeds)"
set title plot_title
set key outside right top vertical Left reverse
set xtics nomirror scale 0 rotate by -20 left

do for [fmt in bb_formats] {
    eval bb_terminal(fmt)
    eval bb_output(fmt)
    plot for [i=1:nbars] datafile using (column(2*i)):(column(2*i+1)):xtic(1) title word(titles, i)
    unset output
}
