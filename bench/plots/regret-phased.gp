# Cumulative regret against the per-phase oracle on the phased scenario:
# the sum over 1-s windows of (oracle's score - method's score) x 1 s,
# mean over seeds.  Lower is better; a flat curve has stopped losing.
# static-cpu and static-core are left out: their regret (200-260 score x s
# in 60 s) would flatten every other line; regret-phased.csv has them.
set datafile separator ','
set datafile missing ''
f = datadir.'/regret-phased.csv'
set title 'phased scenario: cumulative regret against the per-phase oracle'
set xlabel 'simulated time (s)'
set ylabel 'cumulative score deficit (score x s)'
set key outside right top box
set grid
statics = 'static-socket static-node'
agents = 'egreedy-cold-fast linucb-cold-fast dlinucb-cold-fast lints-cold-fast egreedy-warm-fast linucb-warm-fast dlinucb-warm-fast lints-warm-fast linucb-cold-default'
# Keep only the columns this run has (bench/run passes the CSV's header as 'header').
have(c) = strstrt(' '.header.' ', ' '.c.' ') > 0
tmp = ''
do for [c in statics] { if (have(c)) { tmp = tmp.' '.c } }
statics = tmp
tmp = ''
do for [c in agents] { if (have(c)) { tmp = tmp.' '.c } }
agents = tmp
plot for [c in statics] f using 'time_s':c with lines lw 1 dt 2 title c, \
     for [c in agents] f using 'time_s':c with lines lw 1.5 title c
