# tests/integration/check_metrics.awk: checks a /metrics page against the
# Prometheus text format (0.0.4): every sample line parses (name, labels,
# value), every family has HELP and TYPE before its samples and appears
# once, counters end in _total, a histogram's buckets are cumulative and
# end with +Inf equal to its _count. Prints each problem with its line
# number and exits 1 if there is any.
#   awk -f check_metrics.awk metrics.txt
function problem(msg) {
    printf "line %d: %s: %s\n", NR, msg, $0
    bad = 1
}

# The family a sample belongs to: its name less a histogram suffix.
function family_of(name,    base) {
    base = name
    if (sub(/_(bucket|sum|count)$/, "", base) && type[base] == "histogram")
        return base
    return name
}

/^# HELP / {
    if ($3 in help) problem("second HELP for " $3)
    help[$3] = 1
    next
}
/^# TYPE / {
    if ($3 in type) problem("second TYPE for " $3)
    if ($4 !~ /^(counter|gauge|histogram|summary|untyped)$/)
        problem("unknown type " $4)
    if (!($3 in help)) problem("TYPE before HELP for " $3)
    type[$3] = $4
    if ($4 == "counter" && $3 !~ /_total$/) problem("counter without _total")
    next
}
/^#/ { next }
/^$/ { problem("empty line"); next }
{
    line = $0
    if (!match(line, /^[a-zA-Z_:][a-zA-Z0-9_:]*/)) {
        problem("no metric name")
        next
    }
    name = substr(line, 1, RLENGTH)
    rest = substr(line, RLENGTH + 1)
    labels = ""
    if (substr(rest, 1, 1) == "{") {
        if (!match(rest, /^\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*"(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*")*)?\}/)) {
            problem("labels do not parse")
            next
        }
        labels = substr(rest, 2, RLENGTH - 2)
        rest = substr(rest, RLENGTH + 1)
    }
    if (rest !~ /^ ([-+]?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?|[-+]?Inf|NaN)( -?[0-9]+)?$/) {
        problem("value does not parse")
        next
    }
    value = substr(rest, 2)
    sub(/ .*/, "", value)
    fam = family_of(name)
    if (!(fam in type)) problem("sample before the TYPE of " fam)
    if (type[fam] == "counter" && value + 0 < 0) problem("negative counter")
    if (type[fam] != "histogram") next
    # histogram: group by the labels other than le
    le = ""
    series = labels
    if (match(series, /(^|,)le="[^"]*"/)) {
        le = substr(series, RSTART, RLENGTH)
        sub(/^,/, "", le)
        sub(/^le="/, "", le)
        sub(/"$/, "", le)
        series = substr(series, 1, RSTART - 1) substr(series, RSTART + RLENGTH)
        sub(/^,/, "", series)
    }
    key = fam "{" series "}"
    if (name ~ /_bucket$/) {
        if (le == "") problem("bucket without le")
        if ((key in last) && value + 0 < last[key]) problem("bucket not cumulative")
        last[key] = value + 0
        if (le == "+Inf") inf[key] = value + 0
    } else if (name ~ /_count$/) {
        if (!(key in inf)) problem("_count before the +Inf bucket")
        else if (inf[key] != value + 0) problem("_count is not the +Inf bucket")
        counted[key] = 1
    }
}
END {
    for (key in inf)
        if (!(key in counted)) {
            printf "histogram %s has no _count\n", key
            bad = 1
        }
    exit bad
}
