# Simulator speed against host size (bench-sim's scaling table, the
# "mixed" workload scaled to the host: about 4 vCPUs per pCPU, socket).
set datafile separator ','
f = datadir.'/sim-scaling.csv'
set title 'credit2 simulator: speed against host size (median of runs)'
set xlabel 'pCPUs'
set logscale x 2
set logscale y 10
set ylabel 'events per CPU second'
set y2label 'simulated seconds per CPU second'
set logscale y2 10
set ytics nomirror
set y2tics
set key top center box
set grid
plot f using 'pcpus':'events_per_cpu_s' with linespoints lw 2 pt 7 title 'events per CPU s (left)', \
     f using 'pcpus':'sim_s_per_cpu_s' axes x1y2 with linespoints lw 2 pt 5 title 'simulated s per CPU s (right)'
