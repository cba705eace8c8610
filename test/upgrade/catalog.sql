-- What the psycache extension consists of in the current database, one line per fact, sorted:
-- its members, each function's signature, properties, source and privileges, each relation's
-- options, columns, indexes, constraints, triggers, policies and privileges. Two databases whose
-- extensions print the same text have the same extension; the upgrade test compares an updated
-- one with a fresh install of the newest version.
\pset format unaligned
\pset tuples_only on
\pset null '(null)'
WITH ext AS (
  SELECT oid, extnamespace FROM pg_catalog.pg_extension WHERE extname = 'psycache'
), members AS (
  SELECT d.classid, d.objid, d.objsubid
  FROM pg_catalog.pg_depend AS d, ext
  WHERE d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
    AND d.refobjid = ext.oid AND d.deptype = 'e'
), relations AS (
  -- the member relations and their indexes (an index belongs to its table, not the extension)
  SELECT c.oid FROM pg_catalog.pg_class AS c, ext
  WHERE c.relnamespace = ext.extnamespace
), facts AS (
  SELECT 'extension ' || pg_catalog.concat_ws(' ', e.extversion, e.extrelocatable,
           e.extconfig::pg_catalog.regclass[]::text, e.extcondition::text)
  FROM pg_catalog.pg_extension AS e WHERE e.extname = 'psycache'
  UNION ALL
  SELECT 'member ' || pg_catalog.pg_describe_object(classid, objid, objsubid) FROM members
  UNION ALL
  SELECT pg_catalog.format('function %s(%s) returns %s: language %s volatile %s parallel %s '
           'strict %s security_definer %s leakproof %s cost %s rows %s config %s acl %s '
           'symbol %s module %s comment %s',
           p.proname, pg_catalog.pg_get_function_arguments(p.oid),
           pg_catalog.pg_get_function_result(p.oid), l.lanname, p.provolatile, p.proparallel,
           p.proisstrict, p.prosecdef, p.proleakproof, p.procost, p.prorows, p.proconfig,
           p.proacl, p.prosrc, p.probin, pg_catalog.obj_description(p.oid, 'pg_proc'))
  FROM pg_catalog.pg_proc AS p JOIN pg_catalog.pg_language AS l ON l.oid = p.prolang, ext
  WHERE p.pronamespace = ext.extnamespace
  UNION ALL
  SELECT pg_catalog.format('relation %s: kind %s persistence %s options %s acl %s rls %s/%s '
           'comment %s', c.relname, c.relkind, c.relpersistence, c.reloptions, c.relacl,
           c.relrowsecurity, c.relforcerowsecurity, pg_catalog.obj_description(c.oid, 'pg_class'))
  FROM pg_catalog.pg_class AS c WHERE c.oid IN (SELECT oid FROM relations)
  UNION ALL
  SELECT pg_catalog.format('column %s.%s: %s not_null %s default %s collation %s acl %s',
           a.attrelid::pg_catalog.regclass, a.attname,
           pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull,
           pg_catalog.pg_get_expr(ad.adbin, ad.adrelid), a.attcollation, a.attacl)
  FROM pg_catalog.pg_attribute AS a
  LEFT JOIN pg_catalog.pg_attrdef AS ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
  WHERE a.attrelid IN (SELECT oid FROM relations) AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT 'index ' || pg_catalog.pg_get_indexdef(i.indexrelid)
  FROM pg_catalog.pg_index AS i WHERE i.indrelid IN (SELECT oid FROM relations)
  UNION ALL
  SELECT pg_catalog.format('constraint %s on %s: %s', co.conname,
           co.conrelid::pg_catalog.regclass, pg_catalog.pg_get_constraintdef(co.oid))
  FROM pg_catalog.pg_constraint AS co WHERE co.conrelid IN (SELECT oid FROM relations)
  UNION ALL
  SELECT 'trigger ' || pg_catalog.pg_get_triggerdef(t.oid)
  FROM pg_catalog.pg_trigger AS t
  WHERE t.tgrelid IN (SELECT oid FROM relations) AND NOT t.tgisinternal
  UNION ALL
  SELECT pg_catalog.format('policy %s on %s: %s %s using %s check %s', po.polname,
           po.polrelid::pg_catalog.regclass, po.polcmd, po.polroles::pg_catalog.regrole[],
           pg_catalog.pg_get_expr(po.polqual, po.polrelid),
           pg_catalog.pg_get_expr(po.polwithcheck, po.polrelid))
  FROM pg_catalog.pg_policy AS po WHERE po.polrelid IN (SELECT oid FROM relations)
  UNION ALL
  SELECT pg_catalog.format('initial privileges of %s: %s',
           pg_catalog.pg_describe_object(ip.classoid, ip.objoid, ip.objsubid), ip.initprivs)
  FROM pg_catalog.pg_init_privs AS ip
  WHERE (ip.classoid, ip.objoid) IN (SELECT classid, objid FROM members)
     OR ip.objoid IN (SELECT oid FROM relations)
)
SELECT * FROM facts ORDER BY 1;
