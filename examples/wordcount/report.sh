#!/bin/sh
# report.sh: reads [{"word": n, ...}] and writes the total and the ten most
# frequent words, as text, to report.txt (the node's output file) and to
# standard output (its result).
tr -d '[]{}"' | tr ',' '\n' | awk -F: 'NF == 2 { print $2, $1 }' |
    sort -k1,1nr -k2,2 >counts
{
    printf 'words: %d, distinct: %d\n' \
        "$(awk '{ s += $1 } END { print s + 0 }' counts)" "$(wc -l <counts)"
    head -n 10 counts | awk '{ printf "%6d  %s\n", $1, $2 }'
} >report.txt
cat report.txt
