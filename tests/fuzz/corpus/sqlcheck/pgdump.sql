--
-- PostgreSQL database dump
--
\restrict abc123
SET statement_timeout = 0;
CREATE TABLE public.t (a integer, b text);
COPY public.t (a, b) FROM stdin;
1	x\ty
2	\N
\.

CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ select 1; $$;
SELECT E'it''s', 'a\b', "Q""x";
/* nested /* c */ */ SELECT 1;
\unrestrict abc123
