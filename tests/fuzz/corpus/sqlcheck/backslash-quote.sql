SELECT 'x\'; \! id
