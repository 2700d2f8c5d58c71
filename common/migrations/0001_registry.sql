-- Registry: who lives where, which device watches whom. Ordinary tables (small, relational, FK-checked).

CREATE TABLE admin_area (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    name_en     text,
    level       text NOT NULL CHECK (level IN ('city', 'town', 'community')),
    parent_id   text REFERENCES admin_area (id)
);

CREATE TABLE site (
    id            text PRIMARY KEY,
    kind          text NOT NULL CHECK (kind IN ('home', 'facility')),
    name          text NOT NULL,
    name_en       text,
    community_id  text REFERENCES admin_area (id),
    address       text,
    family_bed    boolean NOT NULL DEFAULT false,
    floors        integer NOT NULL DEFAULT 1 CHECK (floors >= 1),
    timezone      text NOT NULL DEFAULT 'Asia/Shanghai',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE room (
    id       text PRIMARY KEY,
    site_id  text NOT NULL REFERENCES site (id) ON DELETE CASCADE,
    name     text NOT NULL,
    kind     text NOT NULL DEFAULT 'other' CHECK (kind IN ('bedroom', 'bathroom', 'kitchen', 'living', 'hall',
                 'entrance', 'corridor', 'dining', 'activity', 'other')),
    floor    integer NOT NULL DEFAULT 1
);
CREATE INDEX room_site ON room (site_id);

CREATE TABLE zone (
    id       text PRIMARY KEY,
    site_id  text NOT NULL REFERENCES site (id) ON DELETE CASCADE,
    name     text NOT NULL,
    secure   boolean NOT NULL DEFAULT false,   -- dementia secure care zone
    is_exit  boolean NOT NULL DEFAULT false,   -- exits / lift lobbies watched for wandering
    floor    integer NOT NULL DEFAULT 1
);
CREATE INDEX zone_site ON zone (site_id);

CREATE TABLE bed (
    id        text PRIMARY KEY,
    site_id   text NOT NULL REFERENCES site (id) ON DELETE CASCADE,
    room_id   text REFERENCES room (id) ON DELETE SET NULL,
    zone_id   text REFERENCES zone (id) ON DELETE SET NULL,
    bed_type  text NOT NULL CHECK (bed_type IN ('nursing', 'ordinary', 'dementia'))
);
CREATE INDEX bed_site ON bed (site_id);

CREATE TABLE resident (
    id           text PRIMARY KEY,
    site_id      text NOT NULL REFERENCES site (id) ON DELETE CASCADE,
    name         text NOT NULL,
    birth_year   integer CHECK (birth_year BETWEEN 1890 AND 2100),
    sex          text CHECK (sex IN ('F', 'M')),
    lives_alone  boolean NOT NULL DEFAULT false,
    empty_nest   boolean NOT NULL DEFAULT false,
    dementia     boolean NOT NULL DEFAULT false,
    fall_risk    text NOT NULL DEFAULT 'low' CHECK (fall_risk IN ('low', 'medium', 'high')),
    key_elder    text[] NOT NULL DEFAULT '{}',
    bed_id       text REFERENCES bed (id) ON DELETE SET NULL,
    room_id      text REFERENCES room (id) ON DELETE SET NULL,
    ble_tag      text UNIQUE,
    active       boolean NOT NULL DEFAULT true,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT key_elder_known CHECK (key_elder <@ ARRAY['living_alone', 'empty_nest', 'very_old', 'disabled',
                                                        'seriously_ill']::text[])
);
CREATE INDEX resident_site ON resident (site_id);

CREATE TABLE contact (
    id                bigserial PRIMARY KEY,
    resident_id       text NOT NULL REFERENCES resident (id) ON DELETE CASCADE,
    name              text NOT NULL,
    relation          text,
    role              text NOT NULL CHECK (role IN ('family', 'caregiver', 'community_worker', 'doctor', 'staff')),
    phone             text,
    escalation_order  integer NOT NULL DEFAULT 1,
    locale            text NOT NULL DEFAULT 'zh-CN',
    UNIQUE (resident_id, escalation_order, name)
);

CREATE TABLE device (
    id               text PRIMARY KEY,
    kind             text NOT NULL CHECK (kind IN ('bed_sensor', 'pir', 'door_contact', 'radar', 'wearable',
                         'sos_button', 'ble_gateway')),
    vendor           text,
    model            text,
    site_id          text NOT NULL REFERENCES site (id) ON DELETE CASCADE,
    room_id          text REFERENCES room (id) ON DELETE SET NULL,
    bed_id           text REFERENCES bed (id) ON DELETE SET NULL,
    resident_id      text REFERENCES resident (id) ON DELETE SET NULL,
    zone_id          text REFERENCES zone (id) ON DELETE SET NULL,
    safety_critical  boolean NOT NULL DEFAULT false,
    heartbeat_s      integer NOT NULL DEFAULT 900 CHECK (heartbeat_s > 0),
    password_hash    text,             -- mosquitto PBKDF2 hash; the clear password never reaches the database
    active           boolean NOT NULL DEFAULT true,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX device_site ON device (site_id);

-- Liveness per device, from status messages (birth / last will) and from any traffic (last_seen).
CREATE TABLE device_state (
    device_id   text PRIMARY KEY REFERENCES device (id) ON DELETE CASCADE,
    last_seen   timestamptz,
    online      boolean,
    state_ts    timestamptz,
    battery     real,
    signal      integer,
    firmware    text,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
