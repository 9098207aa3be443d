# Reward over time on the phased scenario: the score of every 1-s window
# (isched_context_score, default weights), mean over seeds, for the static
# arrangements, the per-phase oracle and the agent with each policy.
# bench/run sets datadir, the terminal and the output.
set datafile separator ','
set datafile missing ''
f = datadir.'/series-phased.csv'
set title 'phased scenario: window score over time (mean over seeds)'
set xlabel 'simulated time (s)'
set ylabel 'score of the 1-s window (higher is better)'
set key outside right top box
set grid
statics = 'static-cpu static-core static-socket static-node'
agents = 'egreedy-cold-fast linucb-cold-fast dlinucb-cold-fast lints-cold-fast linucb-warm-fast linucb-cold-default'
# Keep only the columns this run has (bench/run passes the CSV's header as 'header').
have(c) = strstrt(' '.header.' ', ' '.c.' ') > 0
tmp = ''
do for [c in statics] { if (have(c)) { tmp = tmp.' '.c } }
statics = tmp
tmp = ''
do for [c in agents] { if (have(c)) { tmp = tmp.' '.c } }
agents = tmp
plot for [c in statics] f using 'time_s':c with lines lw 1 dt 2 title c, \
     f using 'time_s':'oracle' with lines lw 3 lc rgb 'black' title 'oracle (per phase)', \
     for [c in agents] f using 'time_s':c with lines lw 1.5 title c
