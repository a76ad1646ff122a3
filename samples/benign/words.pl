#!/usr/bin/perl
# Benign: counts words in a built-in text.
use strict;
use warnings;
my %count;
$count{lc $_}++ for split /\W+/, "the quick brown fox jumps over the lazy dog the end";
print "$_ $count{$_}\n" for sort keys %count;
