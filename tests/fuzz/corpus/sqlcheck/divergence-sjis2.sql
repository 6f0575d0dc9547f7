SET client_encoding = 'SJIS';
SET standard_conforming_strings = off;
SELECT '•\\', '
\! touch /tmp/review-pwned-sjis2
';
