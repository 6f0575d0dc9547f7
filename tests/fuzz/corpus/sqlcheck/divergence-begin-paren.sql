CREATE FUNCTION f() BEGIN (end);
COPY t FROM stdin;
\! touch /tmp/review-pwned-begin-paren
\.
