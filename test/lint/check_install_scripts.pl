#!/usr/bin/env perl
# check_install_scripts.pl FILE...: flags what pgspot flags in extension install scripts.
#
# pgspot (github.com/timescale/pgspot) is not packaged for Debian 12; this is a small, honest
# stand-in for the subset that matters to psycache's scripts. It reads each statement (comments,
# string literals and psql meta-commands removed, split at semicolons outside quotes) and reports,
# with pgspot's codes:
#   PS001  an unqualified operator in SQL that runs (a function body, a top-level query): use
#          OPERATOR(pg_catalog.=)
#   PS002  CREATE OR REPLACE (of a function, view, aggregate...): an attacker may own the object
#   PS003  SECURITY DEFINER without SET search_path
#   PS004  SECURITY DEFINER whose search_path is not "pg_catalog, pg_temp" (or the extension's
#          schema followed by those)
#   PS010  CREATE ... IF NOT EXISTS (schema, table, sequence, index, server): an attacker may have
#          created it first
#   PS016  an unqualified function call in SQL that runs
#   PS017  an unqualified object name: what CREATE TABLE/INDEX ON/FUNCTION/VIEW/SEQUENCE/TYPE,
#          ALTER, GRANT and REVOKE act on, and FROM/JOIN/INTO/UPDATE targets in SQL that runs
#   PS018  SET search_path with the list in single quotes
# SQL bodies of functions that SET a secure search_path are not checked for PS001/PS016/PS017,
# as pgspot does. LANGUAGE C functions have no SQL body.
#
# What it does not do: parse SQL (it matches tokens, so unusual formatting can hide a finding),
# check type names (argument types resolve through the search_path too), simple CASE
# expressions (PS009), SQL built at run time (EXECUTE, format), or anything in C++ code, which
# the pgTAP suite test/pgtap/search_path.sql checks by behaviour instead.
#
# Exit status: 0 without findings, 1 with findings, 2 on a usage error.
use strict;
use warnings;

my $name = qr/(?:\@extschema\@|"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_\$]*)/;
my $qualified = qr/$name\s*\.\s*$name/;
my $secure_path = qr/^\s*(?:(?:\@extschema\@|"?\w+"?)\s*,\s*)?pg_catalog\s*,\s*pg_temp\s*$/i;

# Words that look like a call or a name but are SQL syntax, not something looked up.
my %syntax = map { $_ => 1 } qw(
  all and any array as asc between by case cast coalesce collate cross current_date
  current_time current_timestamp current_user desc distinct do else end exists extract filter
  for from full greatest group having if ilike in inner insert into is join lateral least left
  like limit localtime localtimestamp natural not null nullif offset on only or order outer over
  overlay partition position raise return returning right row select session_user set similar
  some substring table then trim union update user using values when where window with within
  perform execute declare begin exception loop while elsif operator
);

my $findings = 0;
sub finding {
  my ($file, $line, $code, $message) = @_;
  print "$file:$line: $code $message\n";
  $findings++;
}

# The statements of a script: [line, text], with comments and meta-commands blanked (newlines kept).
sub statements {
  my ($text) = @_;
  my @statements;
  my ($current, $line, $start) = ('', 1, 1);
  my $i = 0;
  my $n = length $text;
  while ($i < $n) {
    my $rest = substr($text, $i);
    if ($rest =~ /^--[^\n]*/ || $rest =~ /^\/\*.*?\*\//s || ($current =~ /(?:^|\n)\s*$/ && $rest =~ /^\\[^\n]*/)) {
      my $skipped = $&;
      my $newlines = ($skipped =~ tr/\n//);
      $current .= "\n" x $newlines . ' ';
      $line += $newlines;
      $i += length $skipped;
    } elsif ($rest =~ /^(\$[A-Za-z_]*\$).*?\1/s || $rest =~ /^'(?:[^']|'')*'/ || $rest =~ /^"(?:[^"]|"")*"/) {
      my $quoted = $&;
      $current .= $quoted;
      $line += ($quoted =~ tr/\n//);
      $i += length $quoted;
    } elsif (substr($text, $i, 1) eq ';') {
      push @statements, [$start, $current] if $current =~ /\S/;
      $current = '';
      $i++;
      $start = $line;
    } else {
      my $c = substr($text, $i, 1);
      if ($c eq "\n") {
        $line++;
        $start = $line if $current !~ /\S/;
      }
      $current .= $c;
      $i++;
    }
  }
  push @statements, [$start, $current] if $current =~ /\S/;
  return @statements;
}

# SQL that runs: reports unqualified calls, operators and relations.
sub check_sql {
  my ($file, $line, $sql) = @_;
  $sql =~ s/'(?:[^']|'')*'/''/g;        # literals are data
  $sql =~ s/\@extschema\@/extschema/g;   # the extension's schema is a qualification
  $sql =~ s/OPERATOR\s*\(\s*$name\s*\.\s*[^\s)]+\s*\)/ /gi;  # qualified operators are fine
  $sql =~ s/\$\d+/ /g;                   # parameters
  $sql =~ s/::\s*$qualified/ /g;         # casts: a type name, not checked
  $sql =~ s/::\s*$name(?:\s*\[\s*\])?/ /g;
  for my $target ($sql =~ /\b(?:from|join|into|update|table)\s+(?:only\s+)?($name(?:\s*\.\s*$name)?)/gi) {
    next if $target =~ /\./ || $syntax{lc $target};
    finding($file, $line, 'PS017', "unqualified relation $target");
  }
  while ($sql =~ /(?<![.\w"])($name)\s*\(/g) {
    my $called = $1;
    my $before = substr($sql, 0, $-[0]);
    next if $syntax{lc $called} || $before =~ /\b(?:into|as|table|update)\s*$/i;
    finding($file, $line, 'PS016', "unqualified function call $called()");
  }
  my $update_set = $sql =~ /\bupdate\b.*?\bset\b(.*?)(?:\bwhere\b|\bfrom\b|\breturning\b|$)/is ? $1 : '';
  (my $operators = $sql) =~ s/\Q$update_set\E/ /;  # SET col = value assigns, it is no operator
  $operators =~ s/:=|=>|::/ /g;
  $operators =~ s/(?:\(|\bselect|,|\.)\s*\*\s*(?=\)|,|\s+from\b|$)/ /gi;  # a star is no operator
  while ($operators =~ /([-+*\/<>=~!@#%^&|`?]+)/g) {
    finding($file, $line, 'PS001', "unqualified operator $1");
  }
}

sub check_names {
  my ($file, $line, $what, $list) = @_;
  my $depth = 0;
  my $item = '';
  for my $c (split //, "$list,") {
    $depth++ if $c eq '(';
    $depth-- if $c eq ')';
    if ($c eq ',' && $depth == 0) {
      finding($file, $line, 'PS017', "unqualified $what " . ($item =~ s/^\s+|\s+$//gr))
        if $item =~ /\S/ && $item !~ /^\s*$qualified/;
      $item = '';
    } else {
      $item .= $c;
    }
  }
}

sub check_statement {
  my ($file, $line, $sql) = @_;
  (my $flat = $sql) =~ s/\s+/ /g;
  $flat =~ s/^ //;
  if ($flat =~ /^CREATE OR REPLACE (\w+)/i) {
    finding($file, $line, 'PS002', "CREATE OR REPLACE $1: create it without OR REPLACE");
  }
  if ($flat =~ /^CREATE (?:UNLOGGED |TEMP\w* |UNIQUE )?(SCHEMA|TABLE|SEQUENCE|INDEX|SERVER)(?: CONCURRENTLY)? IF NOT EXISTS/i) {
    finding($file, $line, 'PS010', "CREATE $1 IF NOT EXISTS: an existing one may be an attacker's");
  }
  if ($flat =~ /\bSET search_path\s*(?:=|TO)\s*'/i) {
    finding($file, $line, 'PS018', "search_path in single quotes is one schema name");
  }
  if ($flat =~ /^CREATE (?:OR REPLACE )?(?:UNLOGGED |TEMP\w* )?(TABLE|VIEW|SEQUENCE|TYPE|FUNCTION|PROCEDURE|AGGREGATE|OPERATOR|MATERIALIZED VIEW)(?: IF NOT EXISTS)? ((?:$name)(?: ?\. ?$name)?)/i) {
    my ($kind, $object) = ($1, $2);
    finding($file, $line, 'PS017', "unqualified " . lc($kind) . " $object") unless $object =~ /\./;
  }
  if ($flat =~ /^CREATE (?:UNIQUE )?INDEX .*?\bON (?:ONLY )?($name(?: ?\. ?$name)?)/i) {
    finding($file, $line, 'PS017', "index on unqualified table $1") unless $1 =~ /\./;
  }
  if ($flat =~ /^ALTER (TABLE|FUNCTION|VIEW|SEQUENCE|TYPE|INDEX)(?: IF EXISTS)? ((?:$name)(?: ?\. ?$name)?)/i) {
    finding($file, $line, 'PS017', "ALTER of unqualified " . lc($1) . " $2") unless $2 =~ /\./;
  }
  if ($flat =~ /^(?:GRANT|REVOKE) .*? ON (?:(TABLE|FUNCTION|SEQUENCE|PROCEDURE|ROUTINE) )?(.*?) (?:TO|FROM) /i
      && $flat !~ / ON (?:ALL |SCHEMA |DATABASE |LANGUAGE )/i) {
    check_names($file, $line, lc($1 // 'table'), $2);
  }
  if ($flat =~ /^CREATE (?:OR REPLACE )?(?:FUNCTION|PROCEDURE)\b/i) {
    my ($path) = $flat =~ /\bSET search_path\s*(?:=|TO)\s*([^;]*?)(?=\s+(?:AS|LANGUAGE|SECURITY|SET|IMMUTABLE|STABLE|VOLATILE|PARALLEL|STRICT|COST|RETURNS)\b|$)/i;
    if ($flat =~ /\bSECURITY DEFINER\b/i) {
      if (!defined $path) {
        finding($file, $line, 'PS003', "SECURITY DEFINER without SET search_path");
      } elsif ($path !~ $secure_path) {
        finding($file, $line, 'PS004', "SECURITY DEFINER with search_path $path");
      }
    }
    my $secure = defined $path && $path =~ $secure_path;
    unless ($flat =~ /\bLANGUAGE\s+'?c'?\b/i || $secure) {
      while ($sql =~ /\bAS\s+(\$[A-Za-z_]*\$)(.*?)\1/gs) { check_sql($file, $line, $2) }
    }
    return;
  }
  if ($flat =~ /^(?:SELECT|INSERT|UPDATE|DELETE|WITH|DO)\b/i) {
    my $body = $flat =~ /^DO\b/i && $sql =~ /(\$[A-Za-z_]*\$)(.*?)\1/s ? $2 : $sql;
    check_sql($file, $line, $body);
  }
}

die "usage: $0 FILE...\n" unless @ARGV;
for my $file (@ARGV) {
  open my $in, '<', $file or do { warn "$file: $!\n"; exit 2 };
  my $text = do { local $/; <$in> };
  close $in;
  check_statement($file, @$_) for statements($text);
}
exit($findings ? 1 : 0);
