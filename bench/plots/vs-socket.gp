# Every scenario: whole-run score of the per-phase oracle and of the agent
# (default configuration, from the leave-one-out prior and cold) minus the
# score of Xen's default arrangement (socket), the agent's baseline, mean
# over seeds.  Scores are logarithms, so 0.01 is about 1% better than the
# default; the dashed line is the do-no-harm limit with the prior, 1% worse.
set datafile separator ','
set datafile missing ''
f = datadir.'/vs-socket.csv'
set title 'score minus the score of Xen''s default (socket), mean over seeds'
set ylabel 'score difference (log-ratio; 0.01 = 1%)'
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set xtics rotate by -30
set key outside right top box
set grid ytics
cols = 'oracle agent-prior agent-cold'
# Keep only the columns this run has (bench/run passes the CSV's header as 'header').
have(c) = strstrt(' '.header.' ', ' '.c.' ') > 0
tmp = ''
do for [c in cols] { if (have(c)) { tmp = tmp.' '.c } }
cols = tmp
plot for [c in cols] f using c:xtic(1) title c, -0.01 with lines dt 2 lc rgb 'red' title '-0.01 (do no harm, prior)'
