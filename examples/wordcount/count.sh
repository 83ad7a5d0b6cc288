#!/bin/sh
# count.sh TEXT: the words of TEXT, lower-cased, as one JSON map
# {"word": times, ...}, with standard tools only.
tr -cs '[:alpha:]' '\n' <"$1" | tr '[:upper:]' '[:lower:]' | grep . |
    sort | uniq -c |
    awk 'BEGIN { printf "{" }
         { printf "%s\"%s\":%d", (NR > 1 ? "," : ""), $2, $1 }
         END { print "}" }'
