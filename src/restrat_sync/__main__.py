from restrat_sync.launch import main

raise SystemExit(main())
