// The pg_catalog relations that psql, drivers and ORMs read (docs/sql.md, "pg_catalog"), with
// PostgreSQL 15's columns in its order and types, computed from the catalog the statement is
// planned with. Oids come from the catalog's ObjectDirectory. A relation Borealis has no
// notion of (policies, publications, inheritance, triggers, extensions) is there and empty, so
// a tool's query that joins it still runs: psql's `\d TABLE` shows nothing at all when any one
// of its nine queries fails. Columns of PostgreSQL's array and internal types (aclitem[],
// int2vector, pg_node_tree, regproc) are text here, in PostgreSQL's text form.

import BorealisStorage

enum PgCatalog {
    /// Each relation's columns: "name:type …" with types b bool, c "char" and name (text),
    /// i2 i4 i8, f4 f8, o oid, t text, and arrays t[] (aclitem[], text[]), i2[] (int2vector,
    /// int2[]), o[] (oid[], as bigint[]).
    private static let definitions: [String: String] = [
        "pg_namespace": "oid:o nspname:t nspowner:o nspacl:t[]",
        "pg_class": """
            oid:o relname:t relnamespace:o reltype:o reloftype:o relowner:o relam:o relfilenode:o reltablespace:o relpages:i4 \
            reltuples:f4 relallvisible:i4 reltoastrelid:o relhasindex:b relisshared:b relpersistence:c relkind:c relnatts:i2 \
            relchecks:i2 relhasrules:b relhastriggers:b relhassubclass:b relrowsecurity:b relforcerowsecurity:b relispopulated:b \
            relreplident:c relispartition:b relrewrite:o relfrozenxid:t relminmxid:t relacl:t[] reloptions:t[] relpartbound:t
            """,
        "pg_attribute": """
            attrelid:o attname:t atttypid:o attstattarget:i4 attlen:i2 attnum:i2 attndims:i4 attcacheoff:i4 atttypmod:i4 \
            attbyval:b attalign:c attstorage:c attcompression:c attnotnull:b atthasdef:b atthasmissing:b attidentity:c \
            attgenerated:c attisdropped:b attislocal:b attinhcount:i4 attcollation:o attacl:t[] attoptions:t[] attfdwoptions:t[] \
            attmissingval:t
            """,
        "pg_type": """
            oid:o typname:t typnamespace:o typowner:o typlen:i2 typbyval:b typtype:c typcategory:c typispreferred:b \
            typisdefined:b typdelim:c typrelid:o typsubscript:t typelem:o typarray:o typinput:t typoutput:t typreceive:t \
            typsend:t typmodin:t typmodout:t typanalyze:t typalign:c typstorage:c typnotnull:b typbasetype:o typtypmod:i4 \
            typndims:i4 typcollation:o typdefaultbin:t typdefault:t typacl:t[]
            """,
        "pg_index": """
            indexrelid:o indrelid:o indnatts:i2 indnkeyatts:i2 indisunique:b indnullsnotdistinct:b indisprimary:b \
            indisexclusion:b indimmediate:b indisclustered:b indisvalid:b indcheckxmin:b indisready:b indislive:b \
            indisreplident:b indkey:i2[] indcollation:o[] indclass:o[] indoption:i2[] indexprs:t indpred:t
            """,
        "pg_constraint": """
            oid:o conname:t connamespace:o contype:c condeferrable:b condeferred:b convalidated:b conrelid:o contypid:o \
            conindid:o conparentid:o confrelid:o confupdtype:c confdeltype:c confmatchtype:c conislocal:b coninhcount:i4 \
            connoinherit:b conkey:i2[] confkey:i2[] conpfeqop:o[] conppeqop:o[] conffeqop:o[] confdelsetcols:i2[] conexclop:o[] conbin:t
            """,
        "pg_attrdef": "oid:o adrelid:o adnum:i2 adbin:t",
        "pg_database": """
            oid:o datname:t datdba:o encoding:i4 datlocprovider:c datistemplate:b datallowconn:b datconnlimit:i4 \
            datfrozenxid:t datminmxid:t dattablespace:o datcollate:t datctype:t daticulocale:t datcollversion:t datacl:t[]
            """,
        "pg_am": "oid:o amname:t amhandler:t amtype:c",
        "pg_roles": """
            rolname:t rolsuper:b rolinherit:b rolcreaterole:b rolcreatedb:b rolcanlogin:b rolreplication:b rolconnlimit:i4 \
            rolpassword:t rolvaliduntil:t rolbypassrls:b rolconfig:t[] oid:o
            """,
        "pg_user": """
            usename:t usesysid:o usecreatedb:b usesuper:b userepl:b usebypassrls:b passwd:t valuntil:t useconfig:t[]
            """,
        "pg_description": "objoid:o classoid:o objsubid:i4 description:t",
        "pg_shdescription": "objoid:o classoid:o description:t",
        "pg_collation": """
            oid:o collname:t collnamespace:o collowner:o collprovider:c collisdeterministic:b collencoding:i4 collcollate:t \
            collctype:t colliculocale:t collversion:t
            """,
        "pg_tablespace": "oid:o spcname:t spcowner:o spcacl:t[] spcoptions:t[]",
        "pg_policy": "oid:o polname:t polrelid:o polcmd:c polpermissive:b polroles:o[] polqual:t polwithcheck:t",
        "pg_statistic_ext": """
            oid:o stxrelid:o stxname:t stxnamespace:o stxowner:o stxstattarget:i4 stxkeys:i2[] stxkind:t[] stxexprs:t
            """,
        "pg_publication": """
            oid:o pubname:t pubowner:o puballtables:b pubinsert:b pubupdate:b pubdelete:b pubtruncate:b pubviaroot:b
            """,
        "pg_publication_namespace": "oid:o pnpubid:o pnnspid:o",
        "pg_publication_rel": "oid:o prpubid:o prrelid:o prqual:t prattrs:i2[]",
        "pg_inherits": "inhrelid:o inhparent:o inhseqno:i4 inhdetachpending:b",
        "pg_trigger": """
            oid:o tgrelid:o tgparentid:o tgname:t tgfoid:o tgtype:i2 tgenabled:c tgisinternal:b tgconstrrelid:o \
            tgconstrindid:o tgconstraint:o tgdeferrable:b tginitdeferred:b tgnargs:i2 tgattr:i2[] tgargs:t tgqual:t \
            tgoldtable:t tgnewtable:t
            """,
        "pg_rewrite": "oid:o rulename:t ev_class:o ev_type:c ev_enabled:c is_instead:b ev_qual:t ev_action:t",
        "pg_extension": """
            oid:o extname:t extowner:o extnamespace:o extrelocatable:b extversion:t extconfig:o[] extcondition:t[]
            """,
        "pg_enum": "oid:o enumtypid:o enumsortorder:f4 enumlabel:t",
        "pg_depend": "classid:o objid:o objsubid:i4 refclassid:o refobjid:o refobjsubid:i4 deptype:c",
        "pg_proc": """
            oid:o proname:t pronamespace:o proowner:o prolang:o procost:f4 prorows:f4 provariadic:o prosupport:t \
            prokind:c prosecdef:b proleakproof:b proisstrict:b proretset:b provolatile:c proparallel:c pronargs:i2 \
            pronargdefaults:i2 prorettype:o proargtypes:t proallargtypes:t proargmodes:t proargnames:t proargdefaults:t \
            protrftypes:t prosrc:t probin:t prosqlbody:t proconfig:t proacl:t
            """,
        "pg_sequence": """
            seqrelid:o seqtypid:o seqstart:i8 seqincrement:i8 seqmax:i8 seqmin:i8 seqcache:i8 seqcycle:b
            """,
        "pg_tables": "schemaname:t tablename:t tableowner:t tablespace:t hasindexes:b hasrules:b hastriggers:b rowsecurity:b",
        "pg_views": "schemaname:t viewname:t viewowner:t definition:t",
        "pg_indexes": "schemaname:t tablename:t indexname:t tablespace:t indexdef:t",
        "pg_sequences": """
            schemaname:t sequencename:t sequenceowner:t data_type:t start_value:i8 min_value:i8 max_value:i8 \
            increment_by:i8 cycle:b cache_size:i8 last_value:i8
            """,
        "pg_settings": """
            name:t setting:t unit:t category:t short_desc:t extra_desc:t context:t vartype:t source:t min_val:t max_val:t \
            enumvals:t boot_val:t reset_val:t sourcefile:t sourceline:i4 pending_restart:b
            """,
    ]

    private static let parsed: [String: [(name: String, type: SQLType)]] = definitions.mapValues { spec in
        spec.split(whereSeparator: { $0 == " " || $0 == "\n" }).map { field in
            let parts = field.split(separator: ":")
            let type: SQLType
            switch parts.count == 2 ? parts[1] : "t" {
            case "b": type = .boolean
            case "i2": type = .smallint
            case "i4": type = .integer
            case "i8": type = .bigint
            case "f4": type = .real
            case "f8": type = .doublePrecision
            case "o": type = .oid
            case "t[]": type = .textArray
            case "i2[]": type = .smallintArray
            case "o[]": type = .bigintArray
            default: type = .text
            }
            return (String(parts[0]), type)
        }
    }

    /// The columns of `name` (`pg_class`, the schema already stripped by the parser), or nil
    /// when it is not a pg_catalog relation.
    static func columns(_ name: String) -> [(name: String, type: SQLType)]? { parsed[name] }

    /// The rows of `name` for this catalog.
    static func rows(_ name: String, catalog: Catalog, ctx: ExecutionContext) -> [[Value]] {
        let directory = catalog.directory
        let user = Value.text(ctx.session?.user ?? "borealis")
        switch name {
        case "pg_namespace":
            return ObjectDirectory.namespaces.map { [.oid($0.oid), .text($0.name), .oid(ObjectDirectory.ownerRole), .null] }
        case "pg_class": return classRows(catalog, directory)
        case "pg_attribute": return attributeRows(catalog, directory)
        case "pg_type": return typeRows()
        case "pg_index": return indexRows(catalog, directory)
        case "pg_constraint": return constraintRows(catalog, directory)
        case "pg_attrdef": return defaultRows(catalog, directory)
        case "pg_description": return descriptionRows(catalog, directory)
        case "pg_database":
            return [[.oid(ObjectDirectory.databaseOID), .text(ctx.session?.database ?? "borealis"), .oid(ObjectDirectory.ownerRole),
                     .integer(6), .text("c"), .boolean(false), .boolean(true), .integer(-1), .text("0"), .text("1"), .oid(1663),
                     .text("C.UTF-8"), .text("C.UTF-8"), .null, .null, .null]]
        case "pg_am":
            return [[.oid(ObjectDirectory.heapMethod), .text("heap"), .text("heap_tableam_handler"), .text("t")],
                    [.oid(ObjectDirectory.btreeMethod), .text("btree"), .text("bthandler"), .text("i")]]
        case "pg_roles":
            return [[user, .boolean(true), .boolean(true), .boolean(true), .boolean(true), .boolean(true), .boolean(true), .integer(-1),
                     .text("********"), .null, .boolean(true), .null, .oid(ObjectDirectory.ownerRole)]]
        case "pg_user":
            return [[user, .oid(ObjectDirectory.ownerRole), .boolean(true), .boolean(true), .boolean(true), .boolean(true),
                     .text("********"), .null, .null]]
        case "pg_collation":
            return [[.oid(100), .text("default"), .oid(ObjectDirectory.catalogNamespace), .oid(ObjectDirectory.ownerRole), .text("d"),
                     .boolean(true), .integer(-1), .null, .null, .null, .null],
                    [.oid(950), .text("C"), .oid(ObjectDirectory.catalogNamespace), .oid(ObjectDirectory.ownerRole), .text("c"),
                     .boolean(true), .integer(-1), .text("C"), .text("C"), .null, .null],
                    [.oid(951), .text("POSIX"), .oid(ObjectDirectory.catalogNamespace), .oid(ObjectDirectory.ownerRole), .text("c"),
                     .boolean(true), .integer(-1), .text("POSIX"), .text("POSIX"), .null, .null]]
        case "pg_tablespace":
            return [[.oid(1663), .text("pg_default"), .oid(ObjectDirectory.ownerRole), .null, .null],
                    [.oid(1664), .text("pg_global"), .oid(ObjectDirectory.ownerRole), .null, .null]]
        case "pg_sequence": return sequenceRows(catalog, directory)
        case "pg_tables":
            return catalog.tables.values.sorted { $0.name < $1.name }.map { t in
                [.text(t.isTemporary ? "pg_temp" : "public"), .text(t.name), user, .null,
                 .boolean(directory.relations.contains { $0.table == t.name }), .boolean(false), .boolean(false), .boolean(false)]
            }
        case "pg_views":
            return catalog.views.values.sorted { $0.name < $1.name }.map { v in
                [.text(v.temporary == true ? "pg_temp" : "public"), .text(v.name), user, .text(" " + v.sql + ";")]
            }
        case "pg_indexes":
            return directory.relations.filter { $0.kind == .index }.compactMap { r in
                guard let table = r.table else { return nil }
                return [.text(r.temporary ? "pg_temp" : "public"), .text(table), .text(r.name), .null,
                        indexDefinition(r, catalog).map(Value.text) ?? .null]
            }
        case "pg_sequences":
            return catalog.sequences.values.sorted { $0.name < $1.name }.map { s in
                [.text("public"), .text(s.name), user, .text(s.type.name), .integer(s.start), .integer(s.minValue), .integer(s.maxValue),
                 .integer(s.increment), .boolean(s.cycle), .integer(s.cache), .null]
            }
        case "pg_settings":
            guard let session = ctx.session else { return [] }
            return session.names.sorted().compactMap { name in
                guard let value = session.value(name) else { return nil }
                return [.text(name), .text(value), .null, .null, .null, .null, .text("user"), .text("string"), .text("default"),
                        .null, .null, .null, .null, .text(value), .null, .null, .boolean(false)]
            }
        default:
            return []
        }
    }
}

extension Value {
    /// An oid as a value (oids are held as integers).
    static func oid(_ oid: UInt32) -> Value { .integer(Int64(oid)) }
}
