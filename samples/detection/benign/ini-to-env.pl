#!/usr/bin/perl
# Benign: turns an INI file into shell environment assignments.
use strict;
use warnings;
open(my $out, '>', 'settings.ini') or die $!;
print $out "[db]\nhost=db.example.test\nport=5432\n[cache]\nttl=60\n";
close $out;
open(my $in, '<', 'settings.ini') or die $!;
my $section = '';
while (my $line = <$in>) {
  chomp $line;
  if ($line =~ /^\[(\w+)\]$/) { $section = uc $1; next; }
  if ($line =~ /^(\w+)=(.*)$/) { printf "export %s_%s=%s\n", $section, uc $1, $2; }
}
close $in;
