SET client_encoding = 'SJIS';
SELECT $ÅA$ $ÅB$
\! touch /tmp/review-pwned-dolq
$ÅA$;
