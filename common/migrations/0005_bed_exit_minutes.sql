-- Per-resident delay of the night bed-exit alert ("not back in bed within N minutes", issue 4): a facility sets a
-- short one for residents at high fall risk. NULL = the platform default (ELDERCARE_DETECT_BED_EXIT_MINUTES).
ALTER TABLE resident ADD COLUMN IF NOT EXISTS bed_exit_minutes real CHECK (bed_exit_minutes > 0 AND bed_exit_minutes <= 720);
