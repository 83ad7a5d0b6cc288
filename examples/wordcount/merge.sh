#!/bin/sh
# merge.sh: reads [[{"word": n, ...}, ...]] (the task's args, as JSON on
# standard input) and prints the counts added up, as one JSON map.
tr -d '[]{}"' | tr ',' '\n' |
    awk -F: 'NF == 2 { n[$1] += $2 } END { for (w in n) print w, n[w] }' |
    sort |
    awk 'BEGIN { printf "{" }
         { printf "%s\"%s\":%d", (NR > 1 ? "," : ""), $1, $2 }
         END { print "}" }'
