CREATE FUNCTION f() BEGIN 1end;
COPY t FROM stdin;
\! touch /tmp/review-pwned-junk
\.
