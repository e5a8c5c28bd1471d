# common.gp — shared settings of the beatbench report figures (issue #8).
#
# `beatbench report` writes each figure's script as: a preamble that defines the figure's
# variables (outbase, width, height, datafile, titles, ...), then this file, then the
# figure's template. Every template loops `do for [fmt in bb_formats]` and calls
# `eval bb_terminal(fmt)`, so one run writes outbase.png and outbase.svg.
# The report passes -e "bb_part='.part'" to write outbase.png.part first and renames the
# file after gnuplot exits cleanly; run by hand, the script writes the final names.

if (!exists("bb_part")) bb_part = ""
bb_formats = "png svg"
# gnuplot-nox ships both pngcairo (antialiased) and the libgd png terminal; prefer cairo.
bb_has_pngcairo = strstrt(" ".GPVAL_TERMINALS." ", " pngcairo ") > 0
bb_terminal(fmt) = fmt eq "svg" \
    ? sprintf("set terminal svg noenhanced size %d,%d font 'Sans,11' background '#ffffff'", width, height) \
    : bb_has_pngcairo \
        ? sprintf("set terminal pngcairo noenhanced size %d,%d font 'Sans,10'", width, height) \
        : sprintf("set terminal png noenhanced size %d,%d", width, height)
bb_output(fmt) = sprintf("set output '%s.%s%s'", outbase, fmt, bb_part)

set datafile missing "?"
set grid ytics lc rgb "#dddddd" lw 1
set border 3
set tics nomirror
set key top left Left reverse noautotitle
