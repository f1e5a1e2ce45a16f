from restrat_sync.cli import main

raise SystemExit(main())
