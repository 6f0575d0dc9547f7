SET client_encoding = 'SJIS';
SET standard_conforming_strings = off;
SET backslash_quote = on;
SELECT '•\\', ' ;
\! touch /tmp/review-pwned-sjis
';
