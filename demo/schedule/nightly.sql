-- Scheduled screening with pg_cron (or any scheduler that runs SQL): adapt the names, then run this file
-- once in the database that holds the photographs. Nothing here needs a client to stay connected: training
-- runs in pgscreen's background workers, scoring in the scheduled session.
--
-- What it sets up:
--   screening.retrain()   every Sunday 01:00: train a new model version on everything graded so far, as a
--                         background job (the cron session returns at once; the job survives restarts)
--   screening.score_new() every night 03:00: score the photographs that arrived since the last run with the
--                         newest model and the operating point stored with it, into screening.results
-- Prerequisites: pgscreen in shared_preload_libraries (jobs queue and resume); for pg_cron also
-- shared_preload_libraries = 'pgscreen,pg_cron' and cron.database_name set to this database.
-- The tables below stand for yours: photos(id, img, taken_at), grades(photo_id, grade).

CREATE SCHEMA IF NOT EXISTS screening;

CREATE TABLE IF NOT EXISTS screening.photos (
    id bigint PRIMARY KEY,
    img bytea NOT NULL,                   -- JPEG as received from the camera
    taken_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE screening.photos ALTER COLUMN img SET STORAGE EXTERNAL;

CREATE TABLE IF NOT EXISTS screening.grades (
    photo_id bigint PRIMARY KEY REFERENCES screening.photos,
    grade int NOT NULL CHECK (grade BETWEEN 0 AND 4)     -- graders' DR grade
);

-- What to train: the published recipe on raw photographs (preprocessed by the job itself, and by every
-- later predict/score), 80 % of the graded photographs for training and 20 % for validation.
CREATE TABLE IF NOT EXISTS screening.settings (
    model text NOT NULL,
    options jsonb NOT NULL
);
INSERT INTO screening.settings
SELECT 'dr', '{"recipe": "voets2019_plos", "preprocess": "voets2018", "seed": 2018}'
WHERE NOT EXISTS (SELECT 1 FROM screening.settings);

CREATE TABLE IF NOT EXISTS screening.results (
    photo_id bigint PRIMARY KEY REFERENCES screening.photos,
    model text NOT NULL,                  -- name:version that scored it
    score float8 NOT NULL,
    referable boolean NOT NULL,           -- at the model's stored operating point
    scored_at timestamptz NOT NULL DEFAULT now()
);

-- Train a new version of the model on all graded photographs: 80 % train, 20 % validation by a stable
-- hash of the id, so the split does not change between runs. Returns the job id; screen.jobs shows it.
CREATE OR REPLACE FUNCTION screening.retrain() RETURNS bigint
LANGUAGE sql VOLATILE AS $$
    SELECT screen.train(s.model,
        $q$SELECT p.img, g.grade >= 2 FROM screening.photos p JOIN screening.grades g ON g.photo_id = p.id
           WHERE abs(hashint8(p.id)) % 5 <> 0 ORDER BY p.id$q$,
        $q$SELECT p.img, g.grade >= 2 FROM screening.photos p JOIN screening.grades g ON g.photo_id = p.id
           WHERE abs(hashint8(p.id)) % 5 = 0 ORDER BY p.id$q$,
        s.options)
    FROM screening.settings s;
$$;

-- Score what has not been scored, in batches through the device, with the newest version of the model.
-- The threshold is the operating point stored with that model (screen.set_operating_point), chosen on a
-- tuning set, never on the photographs being screened.
CREATE OR REPLACE PROCEDURE screening.score_new()
LANGUAGE plpgsql AS $$
DECLARE
    -- This role's own model, qualified with its owner: a model of the same name another role created is
    -- never picked up, even when this runs as a superuser who can see every role's models.
    model_name text := (SELECT m.owner::text || '.' || m.name || ':' || m.version
                        FROM screen.models m, screening.settings s
                        WHERE m.name = s.model AND m.owner = current_user::regrole
                        ORDER BY m.version DESC LIMIT 1);
    threshold float8;
BEGIN
    IF model_name IS NULL THEN
        RAISE NOTICE 'no model trained yet: nothing scored';
        RETURN;
    END IF;
    threshold := screen.threshold(model_name, 'high_sensitivity');
    INSERT INTO screening.results (photo_id, model, score, referable)
    SELECT s.id, model_name, s.score, s.score >= threshold
    FROM screen.score(model_name,
                      'SELECT p.id, p.img FROM screening.photos p
                       WHERE NOT EXISTS (SELECT 1 FROM screening.results r WHERE r.photo_id = p.id)
                       ORDER BY p.id') s;
END
$$;

-- With pg_cron, schedule both (re-running this file replaces the schedules). Without it, call
-- SELECT screening.retrain() and CALL screening.score_new() from any scheduler (cron + psql, systemd timers).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') THEN
        PERFORM cron.schedule('pgscreen-retrain', '0 1 * * 0', 'SELECT screening.retrain()');
        PERFORM cron.schedule('pgscreen-score', '0 3 * * *', 'CALL screening.score_new()');
        RAISE NOTICE 'scheduled with pg_cron: see cron.job and cron.job_run_details';
    ELSE
        RAISE NOTICE 'pg_cron is not installed here: call screening.retrain() and screening.score_new() from your scheduler';
    END IF;
END
$$;
