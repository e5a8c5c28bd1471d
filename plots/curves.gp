# curves.gp — training curves from curves.csv, one panel per stage (stage1: BEAT's
# tokenizer, stage2: the explainer, rank: ranking baselines' validation metric).
#
# Data (datafile): one block per series (method/variant/metric), rows
#   epoch  mean  seeds             (mean over the seeds that reached the epoch)
# Preamble variables: datafile, outbase, width, height, plot_title, npanels, panels (stage
#   names), panel_first (first block of each panel), panel_count (blocks per panel),
#   panel_ylabels, titles (one word per block).

unset xlabel
set key below Left reverse

do for [fmt in bb_formats] {
    eval bb_terminal(fmt)
    eval bb_output(fmt)
    set multiplot layout 1,npanels title plot_title
    do for [p=1:npanels] {
        first = int(word(panel_first, p))
        count = int(word(panel_count, p))
        set title word(panels, p)." (x: epoch)"
        set ylabel word(panel_ylabels, p)
        plot for [i=first:first+count-1] datafile index i using 1:2 \
            with linespoints lw 2 pt 7 ps 0.5 title word(titles, i+1)
    }
    unset multiplot
    unset output
}
