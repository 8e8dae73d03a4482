// Package config loads ldirectord.cf (ldirectord 4.12, spec
// ldirectord-4.12.md §2) into a validated model with every default and
// inherited value resolved.
//
// Parse and Load collect every error (each an *Error, "file:line: key:
// message", joined with errors.Join) rather than stopping at the first, and
// return non-fatal findings in Config.Warnings. Host and service names are
// resolved once, at parse time, through Options (tests need no DNS).
//
// Deliberate differences from the classic Perl parser. A file the classic
// accepts means the same here, except where noted; most differences make
// the classic's traps (spec §8.6) work as their authors meant.
//
//   - A blank line, or a line of blanks, no longer ends a virtual block: the
//     block ends at the next non-comment line in column 0. Any indentation
//     (one blank or more) marks a block line; the classic needed four
//     spaces (a tab counting as four) and rejected the rest.
//   - Inline comments. Inside a block, '#' outside double quotes starts a
//     comment, as in the classic; inside quotes it is kept (the classic cut
//     the line there, so receive="a#b" failed). At global level a '#'
//     outside quotes that follows a blank starts a comment (the classic
//     never stripped, so "quiescent = yes # c" failed); '#' glued to a word
//     stays part of the value. For the global values the classic took
//     literally (fallbackcommand, execute, emailalertfrom, maintenancedir)
//     the comment is kept as part of the value, as before, with a warning.
//   - Trailing blanks and a CR (CRLF files) are dropped from every value
//     (the classic kept them, so "quiescent = yes " failed, and servicename
//     and comment kept the blank).
//   - Timeouts and checkinterval take fractional seconds ("1.5"); the
//     classic read the first run of digits (1). Other numbers with text
//     around the digits ("abc5") are still read as the classic does, with a
//     warning; zero is rejected where the classic rejected it.
//   - risecount (global and per virtual, default 1) is new: consecutive
//     successful checks before a down real is restored.
//   - A per-virtual checkinterval is honoured with fork=no (with a
//     warning): hasuite checks every real server on its own timer. fork is
//     accepted and ignored, with a warning when yes.
//   - quiescent keeps the classic code's default, no (its man page says
//     yes).
//   - tlsverify (yes|no, default no) and tlscafile (an absolute path to a
//     PEM CA bundle, read while parsing) are new, global and per virtual:
//     the TLS checks' certificate policy (spec §8.5).
//   - checkkeepalive (yes|no, default no) is new, global and per virtual:
//     http negotiate checks reuse one connection per real (a warning when
//     a virtual sets it and its check is not one).
//   - smtp takes host:port, [v6]:port or an IPv6 address and keeps the
//     port; the classic took only the leading run of host characters
//     (so "mail:2525" meant mail port 25). Other trailing text is still
//     dropped, with a warning.
//   - Real lines are tokenised, not matched with unanchored regexps: l:N
//     and u:N may come in either order and must be unquoted (the classic
//     silently swallowed quoted ones into request/receive); a third quoted
//     string, a repeated threshold or any other leftover is an error; a
//     weight must be 0..65535. A duplicate real (same address and port) in
//     one virtual is dropped with a warning (ipvsadm refused it).
//   - "virtual=10.0.0.1" (no port) is an error; the classic read it as
//     fwmark 10. A fwmark must be 1..4294967295 and all digits; trailing
//     text after a virtual address is an error (the classic ignored it).
//   - scheduler must be all lowercase letters (the classic took the first
//     run of them); schedflags must be known ipvsadm -b flags; persistent
//     must be 1..2678400 (ipvsadm's range); an IPv4 netmask must be a
//     contiguous mask (stored as a prefix length); netmask without
//     persistent and ops on a non-udp service are ignored with a warning;
//     checktype must be a known word or all digits (N ≥ 0); a real port
//     0..65535 (classic) and fallbacks accept the same host syntax as reals.
//   - ftp's anonymous login and sip's login are filled in whenever the
//     service is ftp/sip, also when it comes from the port (the classic
//     only did so for an explicit service=).
//   - A request that is a full URL ("http://...") gets no leading '/';
//     the classic added one and stripped it again before use.
//   - logfile must be an absolute path or a known syslog facility; neither
//     logfile nor monitorfile is opened while parsing (the classic did, as
//     a side effect of every command); the daemon opens them.
//   - The global fallback is not applied to fwmark virtuals (the classic
//     looked it up under protocol "fwm" and found nothing usable).
//   - Duplicate virtual services are reported at the later virtual= line,
//     naming the first; every error names the file as given to Load or
//     Parse rather than "Error [pid] reading file F at line N".
package config
