# A resident Perl program: loads some modules, then waits.
use strict; use warnings; use POSIX (); use File::Spec; use Getopt::Long; use IO::Handle;
$| = 1; print "ready\n";
sleep 1e6;
